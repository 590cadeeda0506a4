import Fluent
import FluentKit
import Foundation
import Vapor

/// Removing a grant's delegation to an agent: by the app (any of its agents) or by the
/// agent itself (`delegations/me`). Idempotent, audited as `delegation_revoked`; the grant
/// itself stays.
enum Delegations {
    static func revoke(grantID raw: String?, agent: Agent, request: Request) async throws {
        let appID = agent.$app.id
        guard let raw, let grantID = UUID(text: raw),
            try await Grant.query(on: request.db).filter(\.$id == grantID).filter(\.$app.$id == appID).first() != nil
        else { throw GrantResolver.notFound }
        let removed = try await Delegation.query(on: request.db).filter(\.$grant.$id == grantID).filter(\.$agent.$id == agent.requireID()).all()
        guard !removed.isEmpty else { return }
        try await Delegation.query(on: request.db).filter(\.$grant.$id == grantID).filter(\.$agent.$id == agent.requireID()).delete()
        request.application.auditLog.record(AuditEntry(
            appID: appID, grantID: grantID, action: .delegationRevoked, caller: request.alterCaller, agent: agent.name, status: nil,
            at: request.application.clock.now()))
    }
}
