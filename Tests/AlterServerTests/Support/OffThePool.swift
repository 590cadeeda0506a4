import Foundation

/// Runs blocking work (a child process's pipes, its exit) on a Dispatch thread instead of one of
/// Swift concurrency's cooperative threads, of which this machine has two. A test that blocked
/// them (reading a CLI run's output to the end, `waitUntilExit`) stalled every other suite's
/// continuations: SQLite transactions could not resume, and their waiters timed out after 10 s.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// At most `limit` holders at a time, the rest wait in order (without holding a thread).
actor AsyncLimiter {
    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func run<T: Sendable>(_ work: @Sendable () async throws -> T) async rethrows -> T {
        if running < limit {
            running += 1
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
        defer {
            if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
        }
        return try await work()
    }
}
