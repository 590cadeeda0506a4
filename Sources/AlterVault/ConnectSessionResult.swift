import Foundation

/// What a Connect session produced, read by your backend with the token it minted.
///
/// Take your user's grants from here rather than from grant ids a browser posts: the
/// session is the one your backend minted for this user, so its grants are this user's.
public struct ConnectSessionResult: Sendable, Hashable, Decodable {
    /// Where the session is.
    public struct Status: RawRepresentable, Sendable, Hashable, Decodable, CustomStringConvertible {
        /// The wire value, e.g. `completed`.
        public let rawValue: String

        /// Wraps a status the vault sent.
        ///
        /// - Parameters:
        ///   - rawValue: The wire value.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The wire value.
        public var description: String { rawValue }

        /// Not finished: not opened yet, or the user is still connecting.
        public static let pending = Status(rawValue: "pending")
        /// Finished; ``ConnectSessionResult/grants`` lists what was connected.
        public static let completed = Status(rawValue: "completed")
        /// Ended with ``ConnectSessionResult/error`` (the user denied access, the provider failed).
        public static let failed = Status(rawValue: "failed")
        /// Not used in time, or read more than 10 minutes after it completed.
        public static let expired = Status(rawValue: "expired")
    }

    /// A grant made or re-authorized in the session, in the widget's `onSuccess` shape.
    public struct Grant: Sendable, Hashable, Decodable {
        /// The grant id to store with your user.
        public let grantID: String
        /// The provider id, e.g. `google`.
        public let provider: String
        /// The provider's display name.
        public let providerName: String
        /// The account at the provider, typically an email address.
        public let accountIdentifier: String
        /// `creation` for a new grant, `reauth` when an existing one came back with its id.
        public let operation: String
        /// The scopes the user granted.
        public let scopes: [String]
        /// When it was connected.
        public let timestamp: Date

        enum CodingKeys: String, CodingKey {
            case provider, operation, scopes, timestamp
            case grantID = "grant_id"
            case providerName = "provider_name"
            case accountIdentifier = "account_identifier"
        }
    }

    /// Why a session failed or expired.
    public struct Failure: Sendable, Hashable, Decodable {
        /// The error code, e.g. ``AlterVaultError/Code-swift.struct/oauthDenied``.
        public let code: AlterVaultError.Code
        /// A message safe to show.
        public let message: String
    }

    /// Where the session is.
    public let status: Status
    /// The grants, when ``status`` is ``Status-swift.struct/completed``; otherwise empty.
    public let grants: [Grant]
    /// The reason, when the session failed or expired.
    public let error: Failure?

    enum CodingKeys: String, CodingKey {
        case status, grants, error
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = try container.decode(Status.self, forKey: .status)
        grants = try container.decodeIfPresent([Grant].self, forKey: .grants) ?? []
        error = try container.decodeIfPresent(Failure.self, forKey: .error)
    }
}

extension AlterVault {
    /// Reads what a Connect session you minted produced.
    ///
    /// Call it when your page reports that the widget finished (its `onSuccess`), with the
    /// token you minted for the signed-in user, and store the grants it lists with that user.
    ///
    /// ```swift
    /// let result = try await vault.connectSessionResult(sessionToken: tokenMintedForThisUser)
    /// if result.status == .completed {
    ///     for grant in result.grants { try await accounts.save(grant.grantID, for: user) }
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - sessionToken: The token ``createConnectSession(allowedProviders:allowedOrigin:userToken:agent:returnURL:repairGrantID:)``
    ///     returned. Another app's token answers `invalid_token`.
    /// - Throws: ``AlterVaultError`` (`invalid_token`, `unauthorized`, …) or ``AlterVaultNetworkError``.
    /// - Returns: The session's status, its grants once completed, or its error.
    public func connectSessionResult(sessionToken: String) async throws -> ConnectSessionResult {
        try await call(.POST, "/v1/connect/sessions/result", json: ["session_token": sessionToken], as: ConnectSessionResult.self)
    }
}
