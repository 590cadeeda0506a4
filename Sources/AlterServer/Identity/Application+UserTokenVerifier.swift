import Fluent
import Vapor

extension Application {
    private enum JWKSCacheKey: StorageKey { typealias Value = JWKSCache }

    /// Cached JWKS documents for user-token verification (set by `configure(_:with:)`).
    var jwksCache: JWKSCache {
        get { requiredService(JWKSCacheKey.self) }
        set { storage[JWKSCacheKey.self] = newValue }
    }

    var userTokenVerifier: UserTokenVerifier {
        UserTokenVerifier(jwksCache: jwksCache, now: clock.now)
    }
}
