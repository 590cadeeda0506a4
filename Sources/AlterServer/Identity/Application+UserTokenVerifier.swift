import Fluent
import Vapor

extension Application {
    private enum JWKSCacheKey: StorageKey { typealias Value = JWKSCache }

    /// Cached JWKS documents for user-token verification (set by `configure(_:with:)`).
    var jwksCache: JWKSCache {
        get {
            guard let value = storage[JWKSCacheKey.self] else { fatalError("configure(_:with:) has not run") }
            return value
        }
        set { storage[JWKSCacheKey.self] = newValue }
    }

    var userTokenVerifier: UserTokenVerifier {
        UserTokenVerifier(jwksCache: jwksCache, now: clock.now)
    }
}
