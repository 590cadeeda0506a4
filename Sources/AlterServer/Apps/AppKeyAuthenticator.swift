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

private enum AuthenticatedAppKey: StorageKey {
    typealias Value = AuthenticatedApp
}

/// Requires `Authorization: Bearer ak_…` with a live key. Keys are looked up by their hash;
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
        guard SecretToken.isWellFormed(bearer, prefix: APIKey.prefix) else {
            throw APIError.unauthorized("The app key is malformed.")
        }
        let keyHash = SecretToken.hash(bearer)
        let now = request.application.clock.now()
        if let cached = request.application.appKeyCache.lookup(keyHash, now: now) {
            request.storage[AuthenticatedAppKey.self] = cached
            return try await next.respond(to: request)
        }
        guard let key = try await APIKey.query(on: request.db).filter(\.$keyHash == keyHash).with(\.$app).first()
        else {
            throw APIError.unauthorized("The app key is not recognised.")
        }
        guard key.revokedAt == nil else { throw APIError.unauthorized("The app key has been revoked.") }
        // Record use at most once a minute: a write per request would serialise SQLite.
        if key.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
            key.lastUsedAt = now
            try await key.update(on: request.db)
        }
        let authenticated = AuthenticatedApp(app: key.app, keyID: try key.requireID())
        request.application.appKeyCache.store(authenticated, for: keyHash, now: now)
        request.storage[AuthenticatedAppKey.self] = authenticated
        return try await next.respond(to: request)
    }
}
