import AsyncHTTPClient
import NIOCore
import NIOHTTP1

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
            let left = deadline - .now()
            if left > .zero { try await Task.sleep(for: .nanoseconds(left.nanoseconds)) }
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw HTTPClientError.deadlineExceeded }
        return value
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
