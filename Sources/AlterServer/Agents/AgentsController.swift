import Fluent
import FluentKit
import Foundation
import Vapor

/// `/v1/agents…` (Bearer app key): the app's agents and their keys, and removing a grant's
/// delegation. Every rule is in `AgentRegistry` / `AgentKeyring`; this only speaks HTTP.
/// The answers have the official SDK's shapes (`AgentWire`), so both surfaces read alike.
struct AgentsController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let v1 = routes.grouped(AppKeyAuthenticator()).grouped("v1")
        let agents = v1.grouped("agents")
        agents.get(use: list)
        agents.post(use: create)
        agents.get(":agent", use: show)
        agents.patch(":agent", use: update)
        agents.delete(":agent", use: revoke)
        agents.get(":agent", "keys", use: listKeys)
        agents.post(":agent", "keys", use: mintKey)
        agents.post(":agent", "keys", ":key", "deprecate", use: deprecateKey)
        agents.post(":agent", "keys", ":key", "undeprecate", use: undeprecateKey)
        agents.delete(":agent", "keys", ":key", use: revokeKey)
        v1.delete("grants", ":grant", "delegations", ":agent", use: revokeDelegation)
    }

    func list(request: Request) async throws -> Response {
        try request.refuseUnknownQueryParameters(["name", "include_revoked", "limit", "offset"])
        let limit = try request.integerQuery("limit") ?? 100
        let offset = try request.integerQuery("offset") ?? 0
        let page = try await request.agentRegistry.list(
            name: request.query[String.self, at: "name"], includeRevoked: try request.booleanQuery("include_revoked") ?? false,
            limit: limit, offset: offset)
        return try .sdkJSON(AgentWire.List(
            items: try page.agents.map(AgentWire.Info.init), total: page.total, limit: limit, offset: offset,
            hasMore: offset + page.agents.count < page.total))
    }

    func create(request: Request) async throws -> Response {
        let body = try request.content.decode(AgentWire.CreateRequest.self)
        let created = try await request.agentRegistry.create(body.creation)
        return try .sdkJSON(
            AgentWire.Created(info: try .init(created.agent), apiKey: created.secret, keyID: try created.key.requireID().lowercasedString),
            status: .created)
    }

    func show(request: Request) async throws -> Response {
        try .sdkJSON(AgentWire.Info(try await request.agentRegistry.find(try request.parameters.require("agent"))))
    }

    func update(request: Request) async throws -> Response {
        try request.refuseUnknownQueryParameters(["expected_version", "grace_seconds"])
        let body = try request.content.decode(AgentWire.UpdateRequest.self)
        return try .sdkJSON(AgentWire.Info(try await request.agentRegistry.update(try request.parameters.require("agent"), try body.change(request))))
    }

    func revoke(request: Request) async throws -> Response {
        try .sdkJSON(AgentWire.Info(try await request.agentRegistry.revoke(try request.parameters.require("agent"))))
    }

    func listKeys(request: Request) async throws -> Response {
        let keyring = try await Self.keyring(request)
        return try .sdkJSON(AgentWire.Keys(items: try await keyring.list().map { try AgentWire.Key($0) }))
    }

    func mintKey(request: Request) async throws -> Response {
        let minted = try await Self.keyring(request).mint()
        return try .sdkJSON(AgentWire.Key(minted.key, secret: minted.secret), status: .created)
    }

    func deprecateKey(request: Request) async throws -> Response {
        try .sdkJSON(AgentWire.Key(try await Self.keyring(request).deprecate(try request.parameters.require("key"))))
    }

    func undeprecateKey(request: Request) async throws -> Response {
        try .sdkJSON(AgentWire.Key(try await Self.keyring(request).undeprecate(try request.parameters.require("key"))))
    }

    func revokeKey(request: Request) async throws -> Response {
        try request.refuseUnknownQueryParameters(["force"])
        let force = try request.booleanQuery("force") ?? false
        return try .sdkJSON(AgentWire.Key(try await Self.keyring(request).revoke(try request.parameters.require("key"), force: force)))
    }

    func revokeDelegation(request: Request) async throws -> Response {
        let agent = try await request.agentRegistry.find(try request.parameters.require("agent"))
        try await Delegations.revoke(grantID: request.parameters.get("grant"), agent: agent, request: request)
        return Response(status: .noContent)
    }

    static func keyring(_ request: Request) async throws -> AgentKeyring {
        let registry = try request.agentRegistry
        return registry.keyring(try await registry.find(try request.parameters.require("agent")))
    }
}
