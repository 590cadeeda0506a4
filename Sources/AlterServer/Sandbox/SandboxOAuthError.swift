import Foundation
import NIOHTTP1
import Vapor

/// An OAuth 2.0 error as the sandbox's token and revocation endpoints report it:
/// `{"error", "error_description"}` with the status RFC 6749 §5.2 gives it. (The house
/// `{"error": {"code"…}}` shape is for the vault's own API; an OAuth client expects this one.)
struct SandboxOAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    let code: String
    let message: String
    var status: HTTPResponseStatus = .badRequest

    var description: String { "\(code): \(message)" }

    static func invalidRequest(_ message: String) -> Self { Self(code: "invalid_request", message: message) }
    static func invalidGrant(_ message: String) -> Self { Self(code: "invalid_grant", message: message) }
    static func invalidScope(_ message: String) -> Self { Self(code: "invalid_scope", message: message) }
    static func unsupportedGrantType(_ message: String) -> Self { Self(code: "unsupported_grant_type", message: message) }

    /// RFC 6749 §5.2: 401 with `WWW-Authenticate` naming the scheme the client should use.
    static func invalidClient(_ message: String) -> Self {
        Self(code: "invalid_client", message: message, status: .unauthorized)
    }

    /// A failure the control switch `token_error` asks for. Real providers answer outages
    /// with 5xx, so the client's retry and error paths see the same thing here.
    static func simulated(_ code: String) -> Self {
        Self(code: code, message: "Simulated \(code) from the sandbox control switch.",
             status: code == "server_error" ? .internalServerError : .serviceUnavailable)
    }

    var response: Response {
        let response = Response(status: status)
        // RFC 6749 §5.1: token responses (errors included) must not be cached.
        response.headers.cacheControl = .init(noStore: true)
        response.headers.replaceOrAdd(name: .pragma, value: "no-cache")
        if code == "invalid_client" {
            response.headers.replaceOrAdd(name: .wwwAuthenticate, value: "Basic realm=\"sandbox\"")
        }
        try? response.content.encode(Body(error: code, errorDescription: message), as: .json)
        return response
    }

    private struct Body: Encodable {
        let error: String
        let errorDescription: String
        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
        }
    }
}

/// Renders `SandboxOAuthError` as RFC 6749 JSON for the endpoints an OAuth client calls.
/// Sits inside `APIErrorMiddleware`, so anything else still gets the house error shape.
struct SandboxOAuthErrorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch let error as SandboxOAuthError {
            return error.response
        }
    }
}
