import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

/// An answer read in full: status, headers and at most the caller's number of body bytes.
struct CollectedResponse: Sendable {
    let status: HTTPResponseStatus
    let headers: HTTPHeaders
    let body: ByteBuffer
}

/// Runs `operation`, cancelling it and throwing `HTTPClientError.deadlineExceeded` once
/// `deadline` passes.
///
/// AsyncHTTPClient's own `timeout`/`deadline` stops at the response head, and its read
/// timeout is an idle timer, so a server that sends headers and then a byte every few
/// seconds would hold a call (and whatever lock or connection its caller holds) for ever
/// (security review F8). Every outbound call reads its body inside this.
func withDeadline<T: Sendable>(_ deadline: NIODeadline, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await sleep(until: deadline, on: MultiThreadedEventLoopGroup.singleton.any())
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw HTTPClientError.deadlineExceeded }
        return value
    }
}

/// Returns at `deadline`, or throws once the task is cancelled, timed by an event loop.
///
/// Not `Task.sleep`: on Linux that arms a timer in Dispatch, which wakes Dispatch's manager
/// thread to arm it and a worker thread to fire or cancel it. Every proxied call sleeps
/// once, for its body's deadline, and those wake-ups were 7% of its CPU (issue 14). An event
/// loop's scheduled task is an entry in the timer heap of a loop that runs anyway; with the
/// event loops as the global executor (`runConcurrencyOnEventLoops`) `any()` is the loop
/// the caller runs on.
func sleep(until deadline: NIODeadline, on eventLoop: any EventLoop) async throws {
    let timer = eventLoop.scheduleTask(deadline: deadline) {}
    do {
        try await withTaskCancellationHandler {
            try await timer.futureResult.get()
        } onCancel: {
            timer.cancel()
        }
    } catch EventLoopError.cancelled {
        // As `Task.sleep` does: the task's cancellation, not the timer's.
        throw CancellationError()
    }
}

extension HTTPClient {
    /// Sends `request` and reads its whole body (at most `maxBytes`), all within `timeout`.
    func collect(_ request: HTTPClientRequest, timeout: TimeAmount, upTo maxBytes: Int) async throws -> CollectedResponse {
        let deadline = NIODeadline.now() + timeout
        return try await withDeadline(deadline) {
            let response = try await self.execute(request, deadline: deadline)
            let body = try await response.body.collect(upTo: maxBytes)
            return CollectedResponse(status: response.status, headers: response.headers, body: body)
        }
    }
}

extension HTTPClientError {
    /// The call ran out of time: the deadline, a read or connect timeout, or no pooled
    /// connection to the host became free within the connect timeout (every connection busy).
    var isTimeout: Bool {
        self == .deadlineExceeded || self == .readTimeout || self == .connectTimeout || self == .getConnectionFromPoolTimeout
    }
}
