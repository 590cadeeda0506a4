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
///
/// One task and an event-loop timer that cancels it: every proxied call reads its answer in
/// here, and a task group racing the operation against a sleeping second task cost two tasks,
/// a sleep and its cancellation per call (issue 14). As with a group, the deadline wins: once
/// it has passed the call fails, whatever the operation returned, and the operation has
/// ended (this waits for it) before this returns.
func withDeadline<T: Sendable>(_ deadline: NIODeadline, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let work = Task { try await operation() }
    let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
    let timer = loop.scheduleTask(deadline: deadline) { work.cancel() }
    let result = await withTaskCancellationHandler {
        await work.result
    } onCancel: {
        work.cancel()
    }
    timer.cancel()
    guard NIODeadline.now() < deadline else { throw HTTPClientError.deadlineExceeded }
    return try result.get()
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
