import Fluent
import FluentKit
import Foundation
import Vapor

/// The key a request is authenticated with, set by `AppKeyAuthenticator`: the app's, or
/// (with `agentID`) one of its agents' (`CallerResolver` turns it into the `Caller`).
struct AuthenticatedApp: Sendable {
    let app: ClientApp
    let keyID: UUID
    var agentID: UUID? = nil
    /// A deprecated agent key: still accepted; answers say `X-Alter-Key-Deprecated: true`.
    var isDeprecated = false
}

extension Request {
    /// The app whose own key authenticated this request. Only routes behind
    /// `AppKeyAuthenticator` or `SignedRequestMiddleware` use it. An agent key has none:
    /// routes that serve agents read `caller` instead, so every other route refuses agent
    /// keys without a line of its own (fail closed).
    var authenticatedApp: AuthenticatedApp {
        get throws {
            guard let value = storage[AuthenticatedAppKey.self] else {
                if storage[CallerKey.self]?.kind == .agentKey {
                    throw APIError(.agentKeyNotAllowed, "Agent keys cannot call this endpoint; use the app's key.")
                }
                throw APIError.unauthorized()
            }
            return value
        }
    }
}

enum AuthenticatedAppKey: StorageKey {
    typealias Value = AuthenticatedApp
}

/// Requires `Authorization: Bearer <app key>` with a live key (`AppKeys`);
/// a key in the query string is refused, because URLs end up in logs and browser history.
struct AppKeyAuthenticator: AsyncMiddleware {
    static let queryNames: Set<String> = ["api_key", "apikey", "key", "access_token", "app_key"]

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let query = request.url.query,
            query.split(separator: "&").contains(where: { Self.queryNames.contains(String($0.split(separator: "=").first ?? "").lowercased()) })
        {
            throw APIError.unauthorized("App keys are accepted only in the Authorization header, never in the URL.")
        }
        guard let bearer = request.headers.bearerAuthorization?.token else { throw APIError.unauthorized() }
        do {
            let authenticated = try await AppKeys.authenticate(bearer, on: request)
            try await request.admit(authenticated, callerHeader: request.headers.first(name: "X-Alter-Caller"))
        } catch let rejection as AppKeys.Rejection {
            switch rejection {
            case .malformed: throw APIError.unauthorized("The app key is malformed.")
            case .unknown: throw APIError.unauthorized("The app key is not recognised.")
            case .revoked: throw APIError.unauthorized("The app key has been revoked.")
            }
        }
        let response = try await next.respond(to: request)
        request.markDeprecatedKey(on: response)
        return response
    }
}
