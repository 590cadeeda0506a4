import Fluent
import FluentKit
import Foundation
import Vapor

/// The wire shapes of agents and their keys, the official SDK's `AgentInfo`, `AgentKey`
/// and their create results (`alter_sdk/models.py`), answered the same on `/v1` and `/sdk`.
enum AgentWire {
    struct Info: Encodable {
        var id: String
        var name: String
        var displayName: String?
        var type: String
        var status: String
        /// `{}` both for "no provider" and "no allow-list": `hasScopeAllowList` tells them apart.
        var scopes: WireValue
        var hasScopeAllowList: Bool
        var policy: WireValue = .object([:])
        var metadata: WireValue
        var version: Int
        var createdAt: Date
        var updatedAt: Date?
        var lastUsedAt: Date?

        enum CodingKeys: String, CodingKey {
            case id, name, type, status, scopes, policy, metadata, version
            case displayName = "display_name"
            case hasScopeAllowList = "has_scope_allow_list"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case lastUsedAt = "last_used_at"
        }

        init(_ agent: Agent) throws {
            id = try agent.publicID()
            name = agent.name
            displayName = agent.displayName
            type = agent.kind.rawValue
            status = agent.status.rawValue
            scopes = agent.scopesJSON.map(WireValue.init(jsonText:)) ?? .object([:])
            hasScopeAllowList = agent.scopesJSON != nil
            metadata = WireValue(jsonText: agent.metadataJSON)
            version = agent.version
            createdAt = agent.createdAt ?? Date(timeIntervalSince1970: 0)
            updatedAt = agent.updatedAt
            lastUsedAt = agent.lastUsedAt
        }
    }

    /// `POST …/agents`: the agent, its first key (shown once) and that key's id.
    struct Created: Encodable {
        var info: Info
        var apiKey: String
        var keyID: String

        enum CodingKeys: String, CodingKey {
            case apiKey = "api_key"
            case keyID = "key_id"
        }

        func encode(to encoder: any Encoder) throws {
            try info.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(apiKey, forKey: .apiKey)
            try container.encode(keyID, forKey: .keyID)
        }
    }

    struct List: Encodable {
        var items: [Info]
        var total: Int
        var limit: Int
        var offset: Int
        var hasMore: Bool

        enum CodingKeys: String, CodingKey {
            case items, total, limit, offset
            case hasMore = "has_more"
        }
    }

    struct Key: Encodable {
        var keyID: String
        var keyPrefix: String
        var name: String
        var status: String
        var createdAt: Date
        var deprecatedAt: Date?
        var revokedAt: Date?
        var lastUsedAt: Date?
        /// Only in the answer to a mint: the key itself, shown once.
        var apiKey: String?

        enum CodingKeys: String, CodingKey {
            case name, status
            case keyID = "key_id"
            case keyPrefix = "key_prefix"
            case createdAt = "created_at"
            case deprecatedAt = "deprecated_at"
            case revokedAt = "revoked_at"
            case lastUsedAt = "last_used_at"
            case apiKey = "api_key"
        }

        init(_ key: APIKey, secret: String? = nil) throws {
            keyID = try key.requireID().lowercasedString
            keyPrefix = key.displayPrefix
            name = key.name ?? key.displayPrefix
            status = key.revokedAt != nil ? "revoked" : key.deprecatedAt != nil ? "deprecated" : "active"
            createdAt = key.createdAt ?? Date(timeIntervalSince1970: 0)
            deprecatedAt = key.deprecatedAt
            revokedAt = key.revokedAt
            lastUsedAt = key.lastUsedAt
            apiKey = secret
        }
    }

    struct Keys: Encodable {
        var items: [Key]
    }

    /// `POST …/agents` body (both surfaces).
    struct CreateRequest: Decodable {
        var name: String
        var type: Agent.Kind?
        var displayName: String?
        var scopes: [String: [String]]?
        var metadata: [String: WireValue]?
        var policy: [String: WireValue]?

        enum CodingKeys: String, CodingKey {
            case name, type, scopes, metadata, policy
            case displayName = "display_name"
        }

        var creation: AgentRegistry.Creation {
            .init(name: name, displayName: displayName, kind: type ?? .agent, metadata: metadata, scopes: scopes, policy: policy)
        }
    }

    /// `PATCH …/agents/{id}` body; `expected_version` comes in the query, as the SDK sends it.
    struct UpdateRequest: Decodable {
        var displayName: String?
        var metadata: [String: WireValue]?
        var scopes: [String: [String]]?
        var status: Agent.Status?
        var policy: [String: WireValue]?

        enum CodingKeys: String, CodingKey {
            case metadata, scopes, status, policy
            case displayName = "display_name"
        }

        func change(_ request: Request) throws -> AgentRegistry.Change {
            if let grace = try request.integerQuery("grace_seconds"), grace != 0 {
                // Narrowing takes effect at once here; a staged narrowing would be silently ignored.
                throw APIError.invalidRequest("grace_seconds must be 0: this vault applies scope changes at once.")
            }
            return .init(
                displayName: displayName, metadata: metadata, scopes: scopes, status: status, policy: policy,
                expectedVersion: try request.integerQuery("expected_version"))
        }
    }
}

extension Request {
    /// The registry of the calling app's agents (the app's own key only).
    var agentRegistry: AgentRegistry {
        get throws {
            AgentRegistry(db: db, appID: try authenticatedApp.app.requireID(), now: application.clock.now(), cache: application.appKeyCache)
        }
    }
}
