import Foundation

extension ManagedSecrets {
    /// The agent an agent-principal grant is for, which must be one of this app's agents.
    func agentOfApp(_ id: UUID) async throws -> UUID {
        throw APIError(.notFound, "No such agent for this app.")
    }
}
