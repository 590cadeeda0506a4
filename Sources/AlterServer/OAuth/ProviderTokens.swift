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

    /// RFC 6749 §5.2 `invalid_grant`: the refresh token itself is dead (expired, revoked, or
    /// rotated away). The only answer that means the user must connect again; GitHub and
    /// Slack spell it `bad_refresh_token` and `invalid_refresh_token`.
    var rejectsRefreshToken: Bool { ["invalid_grant", "bad_refresh_token", "invalid_refresh_token"].contains(error) }

    /// The provider refused the app's own credentials (a wrong or rotated client secret):
    /// the operator's to fix, and no reason to give up on any user's grant.
    var rejectsClient: Bool { ["invalid_client", "unauthorized_client", "http_401"].contains(error) }

    var details: [String: String] {
        var details = ["error": error]
        details["error_description"] = errorDescription
        return details
    }
}
