import AsyncHTTPClient
import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Vapor

/// `POST /v1/request`: calls a provider API with a grant's token (the seeds' `vault.request`).
struct ProxyController: RouteCollection {
    static let maxBodyBytes = 10 * 1024 * 1024

    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(AppKeyAuthenticator()).on(.POST, "v1", "request", body: .collect(maxSize: "15mb"), use: proxy)
    }

    func proxy(request: Request) async throws -> Response {
        let call = try ProxyRequest.decode(from: request)
        // `agent` (id or name): the app calls as that agent, limited to its delegations.
        if let agent = call.agent { request.setCaller(try await CallerResolver.acting(as: agent, from: request.caller, on: request)) }
        let body = try Self.body(of: call)
        let sent: ProviderCall.Sent
        do {
            sent = try await ProviderCall(method: call.method, url: call.url, headers: call.headers ?? [:], body: body, reference: call.reference)
                .send(as: try request.caller, request: request)
        } catch let held as ApprovalRequired {
            return try await Approvals.hold(held, credentialID: held.grantID, method: call.method, url: call.url, headers: call.headers ?? [:], body: body, reason: nil, request: request)
        }
        return try await Self.relay(sent.upstream, grantID: sent.grantID, deadline: sent.deadline)
    }

    /// Answers up to this size that state their length are read whole and sent with their
    /// `Content-Length`; a streamed body costs a task and a hop per chunk (issue 14), which
    /// most API answers, a few KiB, do not need. Larger or unsized answers stream.
    static let wholeBodyBytes = 256 * 1024

    static func body(of call: ProxyRequest) throws -> ByteBuffer? {
        if let text = call.body {
            guard text.utf8.count <= maxBodyBytes else { throw APIError(.bodyTooLarge, "The request body is over 10 MiB.") }
            return ByteBuffer(string: text)
        }
        if let encoded = call.bodyBase64 {
            guard let data = Data(base64Encoded: encoded) else { throw APIError.invalidRequest("body_base64 is not valid base64.") }
            guard data.count <= maxBodyBytes else { throw APIError(.bodyTooLarge, "The request body is over 10 MiB.") }
            return ByteBuffer(data: data)
        }
        return nil
    }

    /// Streams the provider's answer back as it came (the proxy client never decompresses, so
    /// `Content-Encoding` still describes the bytes), minus cookies and hop-by-hop headers,
    /// capped at 10 MiB of wire bytes and ending at the call's deadline.
    static func relay(_ upstream: HTTPClientResponse, grantID: UUID, deadline: NIODeadline) async throws -> Response {
        let length = upstream.headers.first(name: "Content-Length").flatMap(Int.init)
        if let length, length > maxBodyBytes {
            throw APIError(.bodyTooLarge, "The provider's response is over 10 MiB.")
        }
        var headers = HTTPHeaders()
        for (name, value) in upstream.headers where !HeaderRules.isDroppedFromUpstream(name) {
            headers.add(name: name, value: value)
        }
        headers.replaceOrAdd(name: "Alter-Source", value: "upstream")
        headers.replaceOrAdd(name: "Alter-Grant-Id", value: grantID.lowercasedString)
        let stream = upstream.body
        if let length, length <= wholeBodyBytes {
            let whole: ByteBuffer
            do {
                whole = try await withDeadline(deadline) { try await stream.collect(upTo: wholeBodyBytes) }
            } catch let error as HTTPClientError where error == .deadlineExceeded {
                throw APIError(.upstreamTimeout, "The provider API did not answer in time.")
            } catch is NIOTooManyBytesError {
                throw APIError(.upstreamUnreachable, "The provider API sent more than its Content-Length.")
            }
            return Response(status: upstream.status, headers: headers, body: .init(buffer: whole))
        }
        let body = Response.Body(asyncStream: { writer in
            do {
                try await withDeadline(deadline) {
                    var total = 0
                    for try await chunk in stream {
                        total += chunk.readableBytes
                        guard total <= maxBodyBytes else { throw APIError(.bodyTooLarge, "The provider's response is over 10 MiB.") }
                        try await writer.writeBuffer(chunk)
                    }
                }
                try await writer.write(.end)
            } catch {
                try await writer.write(.error(error))
            }
        })
        return Response(status: upstream.status, headers: headers, body: body)
    }
}
