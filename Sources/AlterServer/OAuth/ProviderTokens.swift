import Foundation

/// What a token endpoint answered, normalised across provider quirks.
struct ProviderTokens: Sendable, Equatable {
    var accessToken: String
    var refreshToken: String?
    var expiresAt: Date?
    /// Scopes the provider says it granted; nil when it did not say.
    var scopes: [String]?
    /// Values declared in the catalog as coming from the token response (`instance_url`).
    var variables: [String: String] = [:]
    /// The OpenID Connect ID token, when the provider sent one (checked by `IDTokenClaims`).
    var idToken: String?
}

/// A token endpoint's error, with the provider's own `error` / `error_description`.
struct ProviderError: Error, Sendable, CustomStringConvertible {
    var error: String
    var errorDescription: String?
    /// True for timeouts, 5xx and transport failures: worth retrying, nothing is wrong with the grant.
    var isTransient: Bool

    var description: String { "provider error \(error)" }

    var details: [String: String] {
        var details = ["error": error]
        details["error_description"] = errorDescription
        return details
    }
}
