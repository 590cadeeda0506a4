import Fluent
import FluentKit
import Foundation
import Vapor

/// The app a request is authenticated as, set by `AppKeyAuthenticator`.
struct AuthenticatedApp: Sendable {
    let app: ClientApp
    let keyID: UUID
}

extension Request {
    /// The app whose key authenticated this request. Only routes behind `AppKeyAuthenticator` use it.
    var authenticatedApp: AuthenticatedApp {
        get throws {
            guard let value = storage[AuthenticatedAppKey.self] else { throw APIError.unauthorized() }
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
            request.setAuthenticatedApp(try await AppKeys.authenticate(bearer, on: request))
        } catch let rejection as AppKeys.Rejection {
            switch rejection {
            case .malformed: throw APIError.unauthorized("The app key is malformed.")
            case .unknown: throw APIError.unauthorized("The app key is not recognised.")
            case .revoked: throw APIError.unauthorized("The app key has been revoked.")
            }
        }
        return try await next.respond(to: request)
    }
}
