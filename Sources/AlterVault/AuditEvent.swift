import Foundation

/// One entry of the vault's audit log: a proxied call, a token handed out, a refresh or a
/// revocation. Never tokens or bodies.
public struct AuditEvent: Sendable, Hashable, Decodable {
    /// What happened.
    public struct Action: RawRepresentable, Sendable, Hashable, Decodable, CustomStringConvertible {
        /// The wire value, e.g. `proxy`.
        public let rawValue: String

        /// Wraps an action the vault sent.
        ///
        /// - Parameters:
        ///   - rawValue: The wire value.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The wire value.
        public var description: String { rawValue }

        /// A call through `POST /v1/request`.
        public static let proxy = Action(rawValue: "proxy")
        /// An access token handed out by `POST /v1/grants/{id}/token`.
        public static let token = Action(rawValue: "token")
        /// A refresh at the provider.
        public static let refresh = Action(rawValue: "refresh")
        /// A revocation.
        public static let revoke = Action(rawValue: "revoke")
    }

    /// The event id.
    public let id: String
    /// When it happened.
    public let at: Date
    /// What happened.
    public let action: Action
    /// The grant involved.
    public let grantID: String?
    /// The `Alter-Caller` that made the call.
    public let caller: String?
    /// The agent that made the call.
    public let agent: String?
    /// The proxied request's method.
    public let method: String?
    /// The proxied request's host.
    public let host: String?
    /// The provider's status for a proxied call.
    public let status: Int?

    enum CodingKeys: String, CodingKey {
        case id, at, action, caller, agent, method, host, status
        case grantID = "grant_id"
    }

    /// Reads an event as the vault writes it; a numeric `id` is kept as its decimal text.
    ///
    /// - Parameters:
    ///   - decoder: The decoder positioned at the object.
    /// - Throws: `DecodingError` when `id`, `at` or `action` is missing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let number = try? container.decode(Int.self, forKey: .id) {
            id = String(number)
        } else {
            id = try container.decode(String.self, forKey: .id)
        }
        at = try container.decode(Date.self, forKey: .at)
        action = try container.decode(Action.self, forKey: .action)
        grantID = try container.decodeIfPresent(String.self, forKey: .grantID)
        caller = try container.decodeIfPresent(String.self, forKey: .caller)
        agent = try container.decodeIfPresent(String.self, forKey: .agent)
        method = try container.decodeIfPresent(String.self, forKey: .method)
        host = try container.decodeIfPresent(String.self, forKey: .host)
        status = try container.decodeIfPresent(Int.self, forKey: .status)
    }
}

struct AuditList: Decodable {
    let events: [AuditEvent]
}

extension AlterVault {
    /// Reads the audit log, newest first.
    ///
    /// ```swift
    /// for event in try await vault.audit(grantID: grantID, limit: 20) {
    ///     print(event.at, event.action, event.caller ?? "-", event.host ?? "", event.status ?? 0)
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - grantID: Only events of this grant.
    ///   - limit: At most this many events (the vault applies its own maximum).
    /// - Throws: ``AlterVaultError`` or ``AlterVaultNetworkError``.
    /// - Returns: The events, newest first.
    public func audit(grantID: String? = nil, limit: Int? = nil) async throws -> [AuditEvent] {
        try await call(.GET, "/v1/audit", query: [("grant_id", grantID), ("limit", limit.map(String.init))], as: AuditList.self).events
    }
}
