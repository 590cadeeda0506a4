import Fluent
import FluentKit
import Foundation

/// Records that a grant was delegated to one agent of the app (a Connect session with
/// `agent`), so that agent, calling by its own key or through the app, may use it.
/// `agent` keeps the agent's name beside the reference: names are immutable, and rows
/// written before agents were identities had only the name (`AddAgentReference` turned
/// each of those names into an agent of the grant's app).
final class Delegation: Model, @unchecked Sendable {
    static let schema = "delegations"

    @ID(key: .id) var id: UUID?
    @Parent(key: "grant_id") var grant: Grant
    @Field(key: "agent") var agentName: String
    @OptionalParent(key: "agent_id") var agent: Agent?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(grantID: UUID, agent: Agent) throws {
        self.id = UUID()
        self.$grant.id = grantID
        self.agentName = agent.name
        self.$agent.id = try agent.requireID()
    }

    /// Delegates `grantID` to `agent` unless it already is.
    static func ensure(grantID: UUID, agent: Agent, on db: any Database) async throws {
        let agentID = try agent.requireID()
        guard try await query(on: db).filter(\.$grant.$id == grantID).filter(\.$agent.$id == agentID).first() == nil else { return }
        try await Delegation(grantID: grantID, agent: agent).create(on: db)
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

    /// Adds `agent_id` and gives every free-text agent name of older rows (and of pending
    /// sessions) a real agent of the grant's app, so every delegation names an identity.
    struct AddAgentReference: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(Delegation.schema)
                .field("agent_id", .uuid, .references(Agent.schema, .id, onDelete: .cascade)).update()
            try await database.schema(ConnectSession.schema)
                .field("agent_id", .uuid, .references(Agent.schema, .id, onDelete: .setNull)).update()
            // Only the columns read here are selected: later migrations may add others.
            let rows = try await Delegation.query(on: database).field(\.$id).field(\.$grant.$id).field(\.$agentName).all()
            for row in rows {
                guard let appID = try await Grant.query(on: database).filter(\.$id == row.$grant.id).field(\.$id).field(\.$app.$id).first()?.$app.id
                else { continue }
                let agentID = try await Self.agent(named: row.agentName, appID: appID, on: database).requireID()
                try await Delegation.query(on: database).filter(\.$id == row.requireID()).set(\.$agent.$id, to: agentID).update()
            }
            let sessions = try await ConnectSession.query(on: database).filter(\.$legacyAgentName != nil)
                .field(\.$id).field(\.$app.$id).field(\.$legacyAgentName).all()
            for session in sessions {
                guard let name = session.legacyAgentName else { continue }
                let agentID = try await Self.agent(named: name, appID: session.$app.id, on: database).requireID()
                try await ConnectSession.query(on: database).filter(\.$id == session.requireID()).set(\.$agent.$id, to: agentID).update()
            }
        }

        static func agent(named name: String, appID: UUID, on database: any Database) async throws -> Agent {
            if let found = try await Agent.query(on: database).filter(\.$app.$id == appID).filter(\.$name == name).first() { return found }
            let agent = Agent(appID: appID, name: name, displayName: nil, kind: .agent)
            try await agent.create(on: database)
            return agent
        }

        func revert(on database: any Database) async throws {
            try await database.schema(ConnectSession.schema).deleteField("agent_id").update()
            try await database.schema(Delegation.schema).deleteField("agent_id").update()
        }
    }
}
