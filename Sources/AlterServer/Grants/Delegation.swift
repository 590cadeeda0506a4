import FluentKit
import Foundation

/// Records that a grant was made for an agent (the session's `agent`), so requests made on
/// the agent's behalf can be limited to the grants delegated to it.
final class Delegation: Model, @unchecked Sendable {
    static let schema = "delegations"

    @ID(key: .id) var id: UUID?
    @Parent(key: "grant_id") var grant: Grant
    @Field(key: "agent") var agent: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(grantID: UUID, agent: String) {
        self.id = UUID()
        self.$grant.id = grantID
        self.agent = agent
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(Delegation.schema)
                .id()
                .field("grant_id", .uuid, .required, .references(Grant.schema, .id, onDelete: .cascade))
                .field("agent", .string, .required)
                .field("created_at", .datetime)
                .unique(on: "grant_id", "agent")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(Delegation.schema).delete()
        }
    }
}
