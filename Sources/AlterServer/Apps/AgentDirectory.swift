import Fluent
import FluentKit
import Foundation

/// Finds an app's agent by the reference a caller gives: its id (a UUID) or its name.
/// Another app's agent answers like an unknown one.
struct AgentDirectory {
    let db: any Database
    let appID: UUID

    func find(_ reference: String) async throws -> Agent {
        var query = Agent.query(on: db).filter(\.$app.$id == appID)
        if let id = UUID(text: reference) { query = query.filter(\.$id == id) } else { query = query.filter(\.$name == reference) }
        guard let agent = try await query.first() else { throw APIError(.agentNotFound, "No agent of this app is called \(String(reference.prefix(128))).") }
        return agent
    }
}
