import Fluent
import FluentKit
import Foundation
import Vapor

/// Turns an accepted key (`AppKeys`) and the caller header into the request's `Caller`,
/// for both surfaces. An agent key acts as its agent; an app key whose `X-Alter-Caller` is
/// a UUID acts as that agent of the app (the official SDK's `app.get_agent(id)`, reference
/// §5); any other caller value is only a label for the audit log (`Request.alterCaller`).
/// The agent's status is read on every request, so pausing or revoking one applies at once:
/// a revoked agent's key is refused here, a paused agent's key only reaches `agents/me`
/// (`Request.caller` refuses it everywhere else, as the SDK documents for `suspend`).
enum CallerResolver {
    static func resolve(_ authenticated: AuthenticatedApp, callerHeader: String?, on request: Request) async throws -> Caller {
        let named = callerHeader.flatMap { UUID(text: $0) }
        if let agentID = authenticated.agentID {
            let agent = try await activeAgent(agentID, appID: try authenticated.app.requireID(), on: request)
            if let named, named != agentID {
                throw APIError(.callerAgentMismatch, "This agent key belongs to another agent than the caller header names.")
            }
            return Caller(app: authenticated.app, keyID: authenticated.keyID, kind: .agentKey, agent: agent)
        }
        guard let named else { return Caller(app: authenticated.app, keyID: authenticated.keyID, kind: .app, agent: nil) }
        guard let agent = try await Agent.query(on: request.db).filter(\.$id == named).filter(\.$app.$id == authenticated.app.requireID()).first(),
            agent.status == .active
        else {
            throw APIError(.callerAgentUnresolved, "The caller header does not name an active agent of this app.")
        }
        try await noteUse(agent, on: request)
        return Caller(app: authenticated.app, keyID: authenticated.keyID, kind: .appActingAsAgent, agent: agent)
    }

    /// The app's caller acting as `reference` (an agent id or name) for one call: the `agent`
    /// of `POST /v1/request`. An agent key cannot switch to another agent.
    static func acting(as reference: String, from caller: Caller, on request: Request) async throws -> Caller {
        let agent = try await AgentDirectory(db: request.db, appID: try caller.app.requireID()).find(reference)
        if let current = caller.agent {
            guard current.id == agent.id else {
                throw APIError(.callerAgentMismatch, "This agent key belongs to another agent than `agent` names.")
            }
            return caller
        }
        guard agent.status == .active else {
            throw APIError(.callerAgentUnresolved, "`agent` does not name an active agent of this app.")
        }
        try await noteUse(agent, on: request)
        return Caller(app: caller.app, keyID: caller.keyID, kind: .appActingAsAgent, agent: agent)
    }

    /// The key's agent; a revoked one is refused with its own code.
    private static func activeAgent(_ id: UUID, appID: UUID, on request: Request) async throws -> Agent {
        guard let agent = try await Agent.query(on: request.db).filter(\.$id == id).filter(\.$app.$id == appID).first() else {
            throw APIError.unauthorized("The agent key is not recognised.")
        }
        switch agent.status {
        case .active, .inactive: break
        case .revoked: throw APIError(.agentRevoked, "Agent \(agent.name) was revoked; its keys no longer work.")
        }
        try await noteUse(agent, on: request)
        return agent
    }

    /// Records use at most once a minute, as for keys: a write per request would serialise SQLite.
    private static func noteUse(_ agent: Agent, on request: Request) async throws {
        let now = request.application.clock.now()
        guard agent.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true else { return }
        try await Agent.query(on: request.db).filter(\.$id == agent.requireID()).set(\.$lastUsedAt, to: now).update()
        agent.lastUsedAt = now
    }
}

extension Request {
    /// The calling agent's name for audit entries; nil when the app calls as itself.
    var auditAgent: String? { storage[CallerKey.self]?.agent?.name }
}
