@testable import AlterServer
import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// `withDeadline`, which every outbound call reads its body inside (security review F8): the
/// operation is cancelled at the deadline and has ended when the call returns.
@Suite("Call deadlines")
struct DeadlineTests {
    @Test("an operation that ends in time returns its value")
    func inTime() async throws {
        let value = try await withDeadline(.now() + .seconds(5)) { 42 }
        #expect(value == 42)
    }

    @Test("an operation that ends in time with an error throws that error")
    func errorInTime() async throws {
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await withDeadline(.now() + .seconds(5)) { throw Refused() } }
    }

    @Test("an operation still running at the deadline is cancelled, has ended, and the call throws deadlineExceeded")
    func pastDeadline() async throws {
        let ended = NIOLockedValueBox<String?>(nil)
        let started = ContinuousClock.now
        await #expect(throws: HTTPClientError.deadlineExceeded) {
            try await withDeadline(.now() + .milliseconds(100)) {
                do {
                    try await Task.sleep(for: .seconds(60))
                    ended.withLockedValue { $0 = "slept" }
                } catch {
                    ended.withLockedValue { $0 = "cancelled" }
                    throw error
                }
            }
        }
        #expect(ended.withLockedValue { $0 } == "cancelled")
        // Well before the operation's own end, with room for a loaded machine's scheduling.
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test("cancelling the caller cancels the operation")
    func callerCancelled() async throws {
        let ended = NIOLockedValueBox<String?>(nil)
        let caller = Task {
            try await withDeadline(.now() + .seconds(30)) {
                do {
                    try await Task.sleep(for: .seconds(10))
                    ended.withLockedValue { $0 = "slept" }
                } catch {
                    ended.withLockedValue { $0 = "cancelled" }
                    throw error
                }
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(ended.withLockedValue { $0 } == "cancelled")
    }

    @Test("the deadline's timer returns no earlier than its deadline, on the event loop it was given")
    func timerReturnsAtDeadline() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let deadline = NIODeadline.now() + .milliseconds(80)
        try await sleep(until: deadline, on: loop)
        #expect(NIODeadline.now() >= deadline)
        // A deadline already past returns at once.
        try await sleep(until: .now() - .seconds(1), on: loop)
    }

    @Test("a timer cancelled before its deadline throws CancellationError, as Task.sleep does")
    func timerCancelled() async throws {
        let started = ContinuousClock.now
        let sleeper = Task { try await sleep(until: .now() + .seconds(30), on: MultiThreadedEventLoopGroup.singleton.any()) }
        try await Task.sleep(for: .milliseconds(50))
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(ContinuousClock.now - started < .seconds(20))
        // Cancelled before it started: throws as well.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await sleep(until: .now() + .seconds(30), on: MultiThreadedEventLoopGroup.singleton.any())
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }
}
