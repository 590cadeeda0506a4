import Fluent
import FluentKit
import Foundation
import Vapor

/// The SDK's agent calls (`app.agents.*`, `agent.me()`, `revoke_delegation`), signed like
/// every `/sdk` route, over the same `AgentRegistry` / `AgentKeyring` as `/v1/agents`.
/// Paths and verbs are the SDK's (`alter_sdk/agents.py`, reference §7.1, §7.4). It lives in
/// this room, above `SDKProtocol/`, and mounts itself behind the SDK's middlewares.
struct SDKAgentsController: RouteCollection {
    /// `/sdk/…` with the SDK's envelope and signature check, as `SDKRoutes` mounts its own.
    struct Mounted: RouteCollection {
        func boot(routes: any RoutesBuilder) throws {
            try SDKRoutes.signed(routes).register(collection: SDKAgentsController())
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        let v1 = AgentsController()
        routes.sdkRoute(.GET, "agents", "me", use: me)
        routes.sdkRoute(.POST, "agents", use: v1.create)
        routes.sdkRoute(.GET, "agents", use: v1.list)
        routes.sdkRoute(.GET, "agents", ":agent", use: v1.show)
        routes.sdkRoute(.PATCH, "agents", ":agent", use: v1.update)
        routes.sdkRoute(.DELETE, "agents", ":agent", use: v1.revoke)
        routes.sdkRoute(.POST, "agents", ":agent", "keys", use: v1.mintKey)
        routes.sdkRoute(.GET, "agents", ":agent", "keys", use: v1.listKeys)
        routes.sdkRoute(.PATCH, "agents", ":agent", "keys", ":key", "deprecate", use: v1.deprecateKey)
        routes.sdkRoute(.PATCH, "agents", ":agent", "keys", ":key", "undeprecate", use: v1.undeprecateKey)
        routes.sdkRoute(.DELETE, "agents", ":agent", "keys", ":key", use: v1.revokeKey)
        routes.sdkRoute(.DELETE, "grants", ":grant", "delegations", "me", use: revokeOwnDelegation)
        routes.sdkRoute(.DELETE, "grants", ":grant", "delegations", ":agent", use: v1.revokeDelegation)
    }

    /// `GET /sdk/agents/me`: the calling agent, even while paused (so it can see why it is refused).
    func me(request: Request) async throws -> Response {
        guard let agent = try request.callerEvenIfPaused.agent else {
            throw APIError(.meRequiresAgentKey, "agents/me describes the calling agent: call it with an agent key.")
        }
        return try .sdkJSON(AgentWire.Info(agent))
    }

    /// `DELETE /sdk/grants/{id}/delegations/me`: the agent gives up its own delegation.
    func revokeOwnDelegation(request: Request) async throws -> Response {
        guard let agent = try request.caller.agent else {
            throw APIError(.meRequiresAgentKey, "delegations/me removes the calling agent's delegation: call it with an agent key.")
        }
        try await Delegations.revoke(grantID: request.parameters.get("grant"), agent: agent, request: request)
        return Response(status: .noContent)
    }
}
