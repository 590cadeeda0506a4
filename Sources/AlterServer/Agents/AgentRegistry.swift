import Fluent
import FluentKit
import Foundation
import Vapor

/// Creating, reading, changing and revoking an app's agents: the one implementation behind
/// `/v1/agents`, the SDK's `/sdk/agents` and `alter agents`. Inputs are checked by
/// `AgentRules`; a refused change stores nothing.
struct AgentRegistry {
    let db: any Database
    let appID: UUID
    let now: Date
    let cache: AppKeyCache

    struct Creation {
        var name: String
        var displayName: String?
        var kind: Agent.Kind = .agent
        var metadata: [String: WireValue]?
        /// nil: no allow-list (any delegated grant).
        var scopes: [String: [String]]?
        var policy: [String: WireValue]?
    }

    struct Created {
        let agent: Agent
        let key: APIKey
        /// The first agent key, shown once.
        let secret: String
    }

    struct Change {
        var displayName: String?
        var metadata: [String: WireValue]?
        var scopes: [String: [String]]?
        var status: Agent.Status?
        var policy: [String: WireValue]?
        /// Required with `scopes`: the version the caller based the new allow-list on.
        var expectedVersion: Int?
    }

    /// Creates the agent and its first key in one transaction.
    func create(_ creation: Creation) async throws -> Created {
        let name = try AgentRules.name(creation.name)
        let displayName = try AgentRules.displayName(creation.displayName)
        let metadata = try AgentRules.metadata(creation.metadata)
        let scopes = try creation.scopes.map(AgentRules.scopes)
        try AgentRules.policy(creation.policy)
        // Names are never reused, not even a revoked agent's: old audit entries stay unambiguous.
        guard try await Agent.query(on: db).filter(\.$app.$id == appID).filter(\.$name == name).first() == nil else {
            throw Self.nameExists(name)
        }
        let agent = Agent(appID: appID, name: name, displayName: displayName, kind: creation.kind, metadataJSON: metadata, scopesJSON: scopes)
        do {
            return try await db.transaction { db in
                try await agent.create(on: db)
                let (key, secret) = try APIKey.make(for: agent, name: "\(name)-1")
                try await key.create(on: db)
                return Created(agent: agent, key: key, secret: secret)
            }
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw Self.nameExists(name)  // a simultaneous create with the same name
        }
    }

    /// One page of agents, oldest first; revoked ones only when asked.
    func list(name: String? = nil, includeRevoked: Bool = false, limit: Int = 100, offset: Int = 0) async throws -> (agents: [Agent], total: Int) {
        guard (1...1000).contains(limit), offset >= 0 else { throw APIError.invalidRequest("limit must be 1–1000 and offset at least 0.") }
        var query = Agent.query(on: db).filter(\.$app.$id == appID)
        if let name { query = query.filter(\.$name == name) }
        if !includeRevoked { query = query.filter(\.$status != .revoked) }
        let total = try await query.copy().count()
        let agents = try await query.sort(\.$createdAt).sort(\.$id).range(offset..<(offset + limit)).all()
        return (agents, total)
    }

    /// By id or name (`AgentDirectory`).
    func find(_ reference: String) async throws -> Agent {
        try await AgentDirectory(db: db, appID: appID).find(reference)
    }

    /// Applies `change`; fields left out stay as they are. A revoked agent cannot change.
    func update(_ reference: String, _ change: Change) async throws -> Agent {
        let agent = try await find(reference)
        guard agent.status != .revoked else { throw APIError(.agentNotFound, "Agent \(agent.name) was revoked; it cannot change.") }
        let displayName = try AgentRules.displayName(change.displayName)
        let metadata = try change.metadata.map { try AgentRules.metadata($0) }
        let scopes = try change.scopes.map(AgentRules.scopes)
        try AgentRules.policy(change.policy)
        if let status = change.status, status == .revoked {
            throw APIError.invalidRequest("status must be active or inactive; delete the agent to revoke it.")
        }
        if scopes != nil {
            // The SDK sends the full desired allow-list built from a snapshot: a stale one must not overwrite a newer decision.
            guard let expected = change.expectedVersion else { throw APIError.invalidRequest("expected_version is required when scopes change.") }
            guard expected == agent.version else {
                throw APIError(
                    .agentConcurrentUpdate, "The agent changed since version \(expected) (now \(agent.version)); read it again and retry.")
            }
        }
        var changed = false
        if let displayName, displayName != agent.displayName { agent.displayName = displayName; changed = true }
        if let metadata, metadata != agent.metadataJSON { agent.metadataJSON = metadata; changed = true }
        if let scopes, scopes != agent.scopesJSON { agent.scopesJSON = scopes; changed = true }
        if let status = change.status, status != agent.status { agent.status = status; changed = true }
        guard changed else { return agent }
        agent.version += 1
        try await agent.update(on: db)
        return agent
    }

    /// Revokes the agent and every key it holds (terminal; idempotent).
    func revoke(_ reference: String) async throws -> Agent {
        let agent = try await find(reference)
        guard agent.status != .revoked else { return agent }
        let now = self.now
        try await db.transaction { db in
            agent.status = .revoked
            agent.version += 1
            try await agent.update(on: db)
            try await APIKey.query(on: db).filter(\.$agent.$id == agent.requireID()).filter(\.$revokedAt == nil).set(\.$revokedAt, to: now).update()
        }
        cache.removeAll()
        return agent
    }

    func keyring(_ agent: Agent) -> AgentKeyring {
        AgentKeyring(db: db, agent: agent, now: now, cache: cache)
    }

    static func nameExists(_ name: String) -> APIError {
        APIError(.agentNameExists, "This app already has an agent named \(name) (names are never reused).")
    }
}
