import Foundation

/// A provider access token, for apps that call a provider themselves (e.g. with the
/// provider's own SDK) instead of through ``AlterVault/request(_:_:grantID:headers:body:agent:)``.
///
/// The description hides the token.
public struct AccessToken: Sendable, Hashable, Decodable, CustomStringConvertible, CustomReflectable {
    /// The access token. Treat it as a secret: do not log it or send it to a browser.
    public let token: String
    /// The token type, `Bearer`.
    public let tokenType: String
    /// When it expires, if the provider said.
    public let expiresAt: Date?
    /// The scopes it carries.
    public let scopes: [String]

    enum CodingKeys: String, CodingKey {
        case token = "access_token"
        case tokenType = "token_type"
        case expiresAt = "expires_at"
        case scopes
    }

    /// Reads the token as the vault writes it.
    ///
    /// - Parameters:
    ///   - decoder: The decoder positioned at the object.
    /// - Throws: `DecodingError` when `access_token` is missing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        token = try container.decode(String.self, forKey: .token)
        tokenType = try container.decodeIfPresent(String.self, forKey: .tokenType) ?? "Bearer"
        expiresAt = try container.decodeIfPresent(Date.self, forKey: .expiresAt)
        scopes = try container.decodeIfPresent([String].self, forKey: .scopes) ?? []
    }

    /// `AccessToken(Bearer, expiresAt: …)`, without the token.
    public var description: String {
        "AccessToken(\(tokenType), expiresAt: \(expiresAt.map { "\($0)" } ?? "nil"), scopes: \(scopes))"
    }

    /// What `dump(_:)` and debuggers show: everything but the token.
    public var customMirror: Mirror {
        Mirror(self, children: ["tokenType": tokenType, "expiresAt": expiresAt as Any, "scopes": scopes], displayStyle: .struct)
    }
}

extension AlterVault {
    /// Fetches the grant's current access token, refreshed first when it is near expiry.
    ///
    /// Prefer ``request(_:_:grantID:headers:body:agent:)``: the token then never leaves the
    /// vault, and every call is audited with its host and status.
    ///
    /// ```swift
    /// let token = try await vault.accessToken(grantID: grantID)
    /// var request = HTTPClientRequest(url: "https://api.github.com/user")
    /// request.headers.add(name: "Authorization", value: "Bearer \(token.token)")
    /// ```
    ///
    /// - Parameters:
    ///   - grantID: The grant whose token you need.
    /// - Throws: ``CredentialRevokedError`` when the refresh token was revoked;
    ///   ``AlterVaultError`` (`grant_not_found`, `refresh_failed`, …) or ``AlterVaultNetworkError``.
    /// - Returns: The token, its expiry and scopes.
    public func accessToken(grantID: String) async throws -> AccessToken {
        let answer = try await send(.POST, Self.path("v1", "grants", grantID, "token"))
        guard answer.isSuccess else { throw Self.error(from: answer, grantID: grantID) }
        return try WireCoding.decode(AccessToken.self, from: answer.body, status: answer.status)
    }
}
