import FluentKit
import Foundation

/// One rule of an app's policy, stored as written: what it is attached to (the whole app,
/// one provider, one agent or one grant), its kind, and its settings as JSON. Rules only
/// ever restrict: a call passes when no rule that covers it objects (`PolicyCheck`).
final class PolicyRule: Model, @unchecked Sendable {
    static let schema = "policy_rules"

    /// What a rule covers. `target` names the provider id (or managed-secret slug), the
    /// agent id or the grant id; the app scope has none.
    enum Scope: String, Codable, Sendable, CaseIterable {
        case app, provider, agent, grant
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @Field(key: "scope") var scope: Scope
    @OptionalField(key: "target") var target: String?
    @Field(key: "kind") var kind: String
    /// The kind's settings, JSON (`PolicyCondition(kind:settings:)` reads them).
    @Field(key: "settings") var settings: String
    @OptionalField(key: "description") var ruleDescription: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(appID: UUID, scope: Scope, target: String?, kind: String, settings: String, description: String?) {
        self.id = UUID()
        self.$app.id = appID
        self.scope = scope
        self.target = target
        self.kind = kind
        self.settings = settings
        self.ruleDescription = description
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(PolicyRule.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("scope", .string, .required)
                .field("target", .string)
                .field("kind", .string, .required)
                .field("settings", .string, .required)
                .field("description", .string)
                .field("created_at", .datetime)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(PolicyRule.schema).delete()
        }
    }
}
