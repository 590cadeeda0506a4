import Foundation

/// A short-lived, single-use Connect session: hand ``sessionToken`` to the widget's
/// `open({token})`, or redirect the browser to ``connectURL``.
///
/// The description hides the token: it is a credential until it is used or expires.
public struct ConnectSession: Sendable, Hashable, Decodable, CustomStringConvertible, CustomReflectable {
    /// The token for the widget, `cs_…`.
    public let sessionToken: String
    /// The hosted Connect UI for this session, for backends that redirect instead of using the widget.
    public let connectURL: String
    /// When the token stops working (10 minutes after minting by default).
    public let expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case sessionToken = "session_token"
        case connectURL = "connect_url"
        case expiresAt = "expires_at"
    }

    /// `ConnectSession(expiresAt: …)`, without the token.
    public var description: String { "ConnectSession(expiresAt: \(expiresAt))" }

    /// What `dump(_:)` and debuggers show: the expiry only (the URL contains the token).
    public var customMirror: Mirror { Mirror(self, children: ["expiresAt": expiresAt], displayStyle: .struct) }
}

/// `POST /v1/connect/sessions` body; nil fields are left out.
struct CreateConnectSessionBody: Encodable {
    var allowedProviders: [String]?
    var allowedOrigin: String?
    var userToken: String?
    var agent: String?
    var returnURL: String?
    var repairGrantID: String?

    enum CodingKeys: String, CodingKey {
        case allowedProviders = "allowed_providers"
        case allowedOrigin = "allowed_origin"
        case userToken = "user_token"
        case agent
        case returnURL = "return_url"
        case repairGrantID = "repair_grant_id"
    }
}

extension AlterVault {
    /// Mints a Connect session for the browser widget.
    ///
    /// Call it from the endpoint your page fetches when the user clicks "Connect", and return
    /// only the token to the page. Mint a fresh session per click: tokens are single-use.
    ///
    /// ```swift
    /// app.get("api", "connect-session") { _ in
    ///     let session = try await vault.createConnectSession(
    ///         allowedProviders: ["google"],
    ///         allowedOrigin: "https://app.example.com",
    ///         returnURL: "https://app.example.com/settings")
    ///     return ["sessionToken": session.sessionToken]
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - allowedProviders: The providers to offer. `nil` offers every provider configured
    ///     for the app; unconfigured ids are filtered out.
    ///   - allowedOrigin: The exact origin of the page that opens the widget
    ///     (`scheme://host[:port]`). `nil` uses the app's `website_url`.
    ///   - userToken: Your user's JWT, when the app has identity settings: the grant is bound
    ///     to its `sub`.
    ///   - agent: An agent name the resulting grants are delegated to.
    ///   - returnURL: Where the mobile redirect flow returns; must be on `allowedOrigin`.
    ///   - repairGrantID: A grant of your user to reconnect (after ``CredentialRevokedError``),
    ///     with exactly one provider in `allowedProviders`: when the same account comes back,
    ///     the grant is re-authorized and keeps its id. Without it, or without a `userToken`
    ///     naming the same user, every connection makes a new grant.
    /// - Throws: ``AlterVaultError`` (`invalid_origin`, `missing_origin`, `invalid_return_url`,
    ///   `no_providers`, `invalid_user_token`, `identity_not_configured`, `unauthorized`, …) or
    ///   ``AlterVaultNetworkError``.
    /// - Returns: The session: token, hosted URL and expiry.
    public func createConnectSession(
        allowedProviders: [String]? = nil,
        allowedOrigin: String? = nil,
        userToken: String? = nil,
        agent: String? = nil,
        returnURL: String? = nil,
        repairGrantID: String? = nil
    ) async throws -> ConnectSession {
        let body = CreateConnectSessionBody(
            allowedProviders: allowedProviders, allowedOrigin: allowedOrigin, userToken: userToken, agent: agent, returnURL: returnURL,
            repairGrantID: repairGrantID)
        return try await call(.POST, "/v1/connect/sessions", json: body, as: ConnectSession.self)
    }
}
