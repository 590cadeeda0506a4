import FluentKit
import Foundation

/// An app's secret key for the server API (`/v1`, Bearer) and the official SDK's protocol
/// (`/sdk`, `x-api-key` + signature). Only `SHA-256(key)` is stored; the key itself is shown
/// once, when it is created. New keys are `alter_rk_…` (`ScopedKey`); keys minted before
/// that format (`ak_…`) keep working on `/v1`.
///
/// An agent's keys (`alter_ak_…`) are rows of this table too, with `agent_id` set: one
/// lookup (`AppKeys`), one hash, one cache for every key. Only agent keys are deprecated
/// (still accepted, answered with `X-Alter-Key-Deprecated: true`).
final class APIKey: Model, @unchecked Sendable {
    static let schema = "api_keys"
    /// The first app key format (`ak_` + 43 base64url); still accepted on `/v1`.
    static let legacyPrefix = "ak_"

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    /// The first characters of the key, to tell keys apart in listings.
    @Field(key: "display_prefix") var displayPrefix: String
    @Field(key: "key_hash") var keyHash: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    /// The agent this key acts as; nil for an app key (see `AddAgentKeys`).
    @OptionalParent(key: "agent_id") var agent: Agent?
    /// `{agent name}-{n}`, the SDK's `AgentKey.name`; nil for app keys.
    @OptionalField(key: "name") var name: String?
    @OptionalField(key: "deprecated_at") var deprecatedAt: Date?

    init() {}

    /// True for either key format; anything else is refused before a database read.
    static func isWellFormed(_ secret: String) -> Bool {
        ScopedKey.isWellFormed(secret) || SecretToken.isWellFormed(secret, prefix: legacyPrefix)
    }

    /// Creates a key for `appID`, returning the model and the secret to show once.
    static func make(for appID: UUID) -> (APIKey, secret: String) {
        make(for: appID, type: ScopedKey.appType)
    }

    /// Creates a key of `agent` (`alter_ak_…`), named `name`.
    static func make(for agent: Agent, name: String) throws -> (APIKey, secret: String) {
        let (key, secret) = make(for: agent.$app.id, type: ScopedKey.agentType)
        key.$agent.id = try agent.requireID()
        key.name = name
        return (key, secret)
    }

    private static func make(for appID: UUID, type: String) -> (APIKey, secret: String) {
        let secret = ScopedKey.generate(type: type)
        let key = APIKey()
        key.id = UUID()
        key.$app.id = appID
        key.displayPrefix = String(secret.prefix("alter_\(type)_".count + 6))
        key.keyHash = SecretToken.hash(secret)
        return (key, secret)
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(APIKey.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("display_prefix", .string, .required)
                .field("key_hash", .string, .required)
                .field("created_at", .datetime)
                .field("last_used_at", .datetime)
                .field("revoked_at", .datetime)
                .unique(on: "key_hash")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(APIKey.schema).delete()
        }
    }

    /// Adds agent keys: `agent_id`, `name` and `deprecated_at`.
    struct AddAgentKeys: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(APIKey.schema)
                .field("agent_id", .uuid, .references(Agent.schema, .id, onDelete: .cascade)).update()
            try await database.schema(APIKey.schema).field("name", .string).update()
            try await database.schema(APIKey.schema).field("deprecated_at", .datetime).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(APIKey.schema).deleteField("deprecated_at").update()
            try await database.schema(APIKey.schema).deleteField("name").update()
            try await database.schema(APIKey.schema).deleteField("agent_id").update()
        }
    }
}
