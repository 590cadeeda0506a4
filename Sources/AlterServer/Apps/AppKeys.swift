import Fluent
import FluentKit
import Foundation
import Vapor

/// The one lookup of an app key, for every surface that takes one: `/v1` (Bearer,
/// `AppKeyAuthenticator`) and `/sdk` (`x-api-key`, `SignedRequestMiddleware`). Keys are
/// found by their hash and remembered for `AppKeyCache.lifetime`.
enum AppKeys {
    /// Why a presented key is not accepted; each surface words it in its own envelope.
    enum Rejection: Error, Equatable {
        case malformed, unknown, revoked
    }

    static func authenticate(_ secret: String, on request: Request) async throws -> AuthenticatedApp {
        guard APIKey.isWellFormed(secret) else { throw Rejection.malformed }
        let keyHash = SecretToken.hash(secret)
        let now = request.application.clock.now()
        if let cached = request.application.appKeyCache.lookup(keyHash, now: now) { return cached }
        guard let key = try await APIKey.query(on: request.db).filter(\.$keyHash == keyHash).with(\.$app).first() else {
            throw Rejection.unknown
        }
        guard key.revokedAt == nil else { throw Rejection.revoked }
        // Record use at most once a minute: a write per request would serialise SQLite.
        if key.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
            key.lastUsedAt = now
            try await key.update(on: request.db)
        }
        let authenticated = AuthenticatedApp(app: key.app, keyID: try key.requireID(), agentID: key.$agent.id, isDeprecated: key.deprecatedAt != nil)
        request.application.appKeyCache.store(authenticated, for: keyHash, now: now)
        return authenticated
    }
}

extension Request {
    /// Marks the request as made by `authenticated`: its `Caller` (`CallerResolver`), and,
    /// for the app's own key, `authenticatedApp`.
    func admit(_ authenticated: AuthenticatedApp, callerHeader: String?) async throws {
        let caller = try await CallerResolver.resolve(authenticated, callerHeader: callerHeader, on: self)
        storage[CallerKey.self] = caller
        storage[DeprecatedKeyFlag.self] = authenticated.isDeprecated
        if caller.kind != .agentKey { storage[AuthenticatedAppKey.self] = authenticated }
    }

    /// The SDK warns once per client on `X-Alter-Key-Deprecated: true` (reference §5).
    func markDeprecatedKey(on response: Response) {
        if storage[DeprecatedKeyFlag.self] == true { response.headers.replaceOrAdd(name: "X-Alter-Key-Deprecated", value: "true") }
    }
}

private enum DeprecatedKeyFlag: StorageKey {
    typealias Value = Bool
}
