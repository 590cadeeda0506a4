import Foundation

/// What the vault knows about a grant: a user's authorization of your app at one provider
/// account. Never its tokens.
public struct GrantInfo: Sendable, Hashable, Decodable {
    /// A grant's state.
    public struct Status: RawRepresentable, Sendable, Hashable, Decodable, CustomStringConvertible {
        /// The wire value, e.g. `active`.
        public let rawValue: String

        /// Wraps a status the vault sent.
        ///
        /// - Parameters:
        ///   - rawValue: The wire value.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The wire value.
        public var description: String { rawValue }

        /// Usable.
        public static let active = Status(rawValue: "active")
        /// Not finished yet.
        public static let pending = Status(rawValue: "pending")
        /// The provider rejected the refresh token: connect again with `repairGrantID` (it comes back as `reauth`).
        public static let error = Status(rawValue: "error")
        /// Revoked by your app.
        public static let revoked = Status(rawValue: "revoked")
    }

    /// The grant id, as the widget's `onSuccess` delivered it.
    public let grantID: String
    /// The provider id, e.g. `google`.
    public let provider: String
    /// The provider's display name, e.g. `Google`.
    public let providerName: String
    /// The account at the provider, typically an email address.
    public let accountIdentifier: String
    /// The grant's state.
    public let status: Status
    /// The scopes the user granted.
    public let scopes: [String]
    /// Provider extras such as `account_display_name` and `account_email`.
    public let metadata: [String: JSONValue]?
    /// The `sub` of the `user_token` the grant is bound to, if any.
    public let user: String?
    /// The agents the grant is delegated to.
    public let agents: [String]
    /// When the user first connected the account.
    public let createdAt: Date?
    /// When the grant last changed (refresh, re-authorization).
    public let updatedAt: Date?
    /// When the current access token expires, if the provider said.
    public let expiresAt: Date?

    enum CodingKeys: String, CodingKey {
        case grantID = "grant_id"
        case provider
        case providerName = "provider_name"
        case accountIdentifier = "account_identifier"
        case status, scopes, metadata, user, agents
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case expiresAt = "expires_at"
    }

    /// Reads a `GrantInfo` as the vault writes it.
    ///
    /// - Parameters:
    ///   - decoder: The decoder positioned at the object.
    /// - Throws: `DecodingError` when a required field is missing or has the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        grantID = try container.decode(String.self, forKey: .grantID)
        provider = try container.decode(String.self, forKey: .provider)
        providerName = try container.decodeIfPresent(String.self, forKey: .providerName) ?? provider
        accountIdentifier = try container.decode(String.self, forKey: .accountIdentifier)
        status = try container.decode(Status.self, forKey: .status)
        scopes = try container.decodeIfPresent([String].self, forKey: .scopes) ?? []
        metadata = try container.decodeIfPresent([String: JSONValue].self, forKey: .metadata)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        agents = try container.decodeIfPresent([String].self, forKey: .agents) ?? []
        createdAt = try container.decodeIfPresent(Date.self, forKey: .createdAt)
        updatedAt = try container.decodeIfPresent(Date.self, forKey: .updatedAt)
        expiresAt = try container.decodeIfPresent(Date.self, forKey: .expiresAt)
    }
}

/// The result of ``AlterVault/revoke(grantID:)``.
public struct RevokedGrant: Sendable, Hashable, Decodable {
    /// The grant that was deleted.
    public let grantID: String
    /// True when the provider confirmed the revocation (RFC 7009); false when the provider
    /// has no revocation endpoint or did not answer. The vault deleted its tokens either way.
    public let revokedAtProvider: Bool

    enum CodingKeys: String, CodingKey {
        case grantID = "grant_id"
        case revokedAtProvider = "revoked_at_provider"
    }
}

struct GrantList: Decodable {
    let grants: [GrantInfo]
}

extension AlterVault {
    /// Lists your app's grants, optionally filtered.
    ///
    /// ```swift
    /// let calendars = try await vault.grants(provider: "google", user: userID)
    /// ```
    ///
    /// - Parameters:
    ///   - provider: Only grants at this provider.
    ///   - user: Only grants bound to this `user_token` subject.
    ///   - agent: Only grants delegated to this agent.
    /// - Throws: ``AlterVaultError`` or ``AlterVaultNetworkError``.
    /// - Returns: The matching grants.
    public func grants(provider: String? = nil, user: String? = nil, agent: String? = nil) async throws -> [GrantInfo] {
        try await call(.GET, "/v1/grants", query: [("provider", provider), ("user", user), ("agent", agent)], as: GrantList.self).grants
    }

    /// Reads one grant.
    ///
    /// Use it to check a grant id a browser sent you: another app's grant answers
    /// `grant_not_found`, exactly like a missing one.
    ///
    /// ```swift
    /// let grant = try await vault.grant(id: grantID)
    /// print(grant.provider, grant.accountIdentifier, grant.status)
    /// ```
    ///
    /// - Parameters:
    ///   - id: The grant id.
    /// - Throws: ``AlterVaultError`` (`grant_not_found`, …) or ``AlterVaultNetworkError``.
    /// - Returns: The grant.
    public func grant(id: String) async throws -> GrantInfo {
        try await call(.GET, Self.path("v1", "grants", id), as: GrantInfo.self)
    }

    /// Revokes a grant: at the provider where it supports revocation, then deletes the tokens
    /// and the grant.
    ///
    /// ```swift
    /// let result = try await vault.revoke(grantID: grantID)
    /// if !result.revokedAtProvider { /* tell the user to remove the app at the provider too */ }
    /// ```
    ///
    /// - Parameters:
    ///   - grantID: The grant to revoke.
    /// - Throws: ``AlterVaultError`` (`grant_not_found`, …) or ``AlterVaultNetworkError``.
    /// - Returns: Whether the provider confirmed the revocation.
    @discardableResult
    public func revoke(grantID: String) async throws -> RevokedGrant {
        try await call(.DELETE, Self.path("v1", "grants", grantID), as: RevokedGrant.self)
    }
}
