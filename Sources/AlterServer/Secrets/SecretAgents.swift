import FluentKit
import Foundation

extension ManagedSecrets {
    /// The agent an agent-principal grant is for: one of this app's agents, by id or name
    /// (`agent_not_found` otherwise); a revoked agent gets no new grants.
    func agentOfApp(_ reference: String) async throws -> UUID {
        let agent = try await AgentDirectory(db: db, appID: appID).find(reference)
        guard agent.status != .revoked else { throw APIError(.agentRevoked, "Agent \(agent.name) is revoked; it cannot be granted a secret.") }
        return try agent.requireID()
    }
}
