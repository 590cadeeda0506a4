import Fluent
import FluentKit
import Foundation
import NIOHTTP1
import Vapor

/// Guards the sandbox API like a resource server (RFC 6750): a live access token in
/// `Authorization: Bearer`, else 401 with `WWW-Authenticate`. Counts every call, accepted or
/// not, so proxy tests can see how many requests reached the "provider".
struct SandboxBearerMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        try await SandboxControl.increment(.apiCalls, on: request.db)
        guard let presented = request.headers.bearerAuthorization?.token else {
            // RFC 6750 §3.1: no error code when the request carried no token at all.
            return Self.unauthorized(challenge: "Bearer realm=\"sandbox\"", error: "invalid_request", message: "An access token is required.")
        }
        let now = request.application.clock.now()
        guard let token = try await SandboxToken.find(presented, kind: .access, on: request.db), token.isLive(at: now),
            let account = SandboxAccount.find(email: token.account)
        else {
            return Self.unauthorized(
                challenge: "Bearer realm=\"sandbox\", error=\"invalid_token\", error_description=\"The access token is invalid, expired or revoked.\"",
                error: "invalid_token", message: "The access token is invalid, expired or revoked.")
        }
        request.storage[SandboxAccountKey.self] = account
        return try await next.respond(to: request)
    }

    private static func unauthorized(challenge: String, error: String, message: String) -> Response {
        let response = Response(status: .unauthorized)
        response.headers.replaceOrAdd(name: .wwwAuthenticate, value: challenge)
        response.headers.cacheControl = .init(noStore: true)
        try? response.content.encode(["error": error, "error_description": message], as: .json)
        return response
    }
}

private enum SandboxAccountKey: StorageKey {
    typealias Value = SandboxAccount
}

extension Request {
    /// The account whose access token authorized this request (set by `SandboxBearerMiddleware`).
    var sandboxAccount: SandboxAccount {
        get throws {
            guard let account = storage[SandboxAccountKey.self] else { throw Abort(.unauthorized) }
            return account
        }
    }
}
