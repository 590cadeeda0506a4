import FluentKit
import Foundation

/// An identity of one app that calls the vault on its own: it holds agent keys
/// (`alter_ak_…`, rows of `api_keys` with `agent_id` set) and may use only the grants
/// delegated to it (`Delegation`). The `name` is unique within the app and never changes,
/// so logs and delegations that name it stay true.
final class Agent: Model, @unchecked Sendable {
    static let schema = "agents"

    enum Kind: String, Codable, Sendable, CaseIterable {
        case agent, service
    }

    /// `inactive` is paused (can be resumed); `revoked` is terminal: `delete` revokes, so
    /// audit entries and delegation history keep an agent to point at.
    enum Status: String, Codable, Sendable, CaseIterable {
        case active, inactive, revoked
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @Field(key: "name") var name: String
    @OptionalField(key: "display_name") var displayName: String?
    @Field(key: "kind") var kind: Kind
    @Field(key: "status") var status: Status
    /// Compact JSON object, at most `AgentRules.maxMetadataBytes`.
    @Field(key: "metadata_json") var metadataJSON: String
    /// Compact JSON `{provider: [scope]}`: the per-provider allow-list (`{}` allows no
    /// provider); nil when the agent has none and may use any grant delegated to it.
    @OptionalField(key: "scopes_json") var scopesJSON: String?
    /// Bumped on every change, as the SDK's `AgentInfo.version`.
    @Field(key: "version") var version: Int
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?

    init() {}

    init(appID: UUID, name: String, displayName: String?, kind: Kind, metadataJSON: String = "{}", scopesJSON: String? = nil) {
        self.id = UUID()
        self.$app.id = appID
        self.name = name
        self.displayName = displayName
        self.kind = kind
        self.status = .active
        self.metadataJSON = metadataJSON
        self.scopesJSON = scopesJSON
        self.version = 1
    }

    /// The lowercase UUID the SDK's wire shapes require.
    func publicID() throws -> String { try requireID().lowercasedString }

    /// The name shown to people (the consent screen, listings).
    var shownName: String { displayName ?? name }

    /// The providers the allow-list names; nil when the agent has no allow-list.
    var allowedProviders: Set<String>? {
        guard let scopesJSON else { return nil }
        // Written by `AgentRules.scopes`; unreadable text allows nothing (fail closed).
        return (try? JSONDecoder().decode([String: [String]].self, from: Data(scopesJSON.utf8))).map { Set($0.keys) } ?? []
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(Agent.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("name", .string, .required)
                .field("display_name", .string)
                .field("kind", .string, .required)
                .field("status", .string, .required)
                .field("metadata_json", .string, .required)
                .field("scopes_json", .string)
                .field("version", .int, .required)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .field("last_used_at", .datetime)
                .unique(on: "app_id", "name")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(Agent.schema).delete()
        }
    }
}
