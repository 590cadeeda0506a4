import AsyncHTTPClient
import Fluent
import FluentKit
import Foundation
import NIOCore
import Vapor

/// `/v1/grants`: list, read, revoke. (The access-token hand-out is beside the proxy.)
struct GrantsController: RouteCollection {
    struct List: Content {
        var grants: [GrantInfo]
    }

    struct Revoked: Content {
        var grantID: String
        var revokedAtProvider: Bool

        enum CodingKeys: String, CodingKey {
            case grantID = "grant_id"
            case revokedAtProvider = "revoked_at_provider"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        let grants = routes.grouped(AppKeyAuthenticator()).grouped("v1", "grants")
        grants.get(use: list)
        grants.get(":grant", use: show)
        grants.delete(":grant", use: revoke)
    }

    func list(request: Request) async throws -> List {
        let app = try request.authenticatedApp.app
        try request.refuseUnknownQueryParameters(["provider", "user", "agent"])
        var delegatedTo: Agent?
        if let reference = request.query[String.self, at: "agent"] {
            // An unknown agent has no delegations: an empty list, not an error.
            guard let agent = try? await AgentDirectory(db: request.db, appID: app.requireID()).find(reference) else { return List(grants: []) }
            delegatedTo = agent
        }
        let listing = GrantListing(
            provider: request.query[String.self, at: "provider"], userSubject: request.query[String.self, at: "user"], delegatedTo: delegatedTo)
        let grants = try await listing.page(appID: app.requireID(), on: request.db).grants
        let catalog = try await request.application.providerCatalog.forApp(app.requireID(), on: request.db)
        var infos: [GrantInfo] = []
        for grant in grants {
            infos.append(try await GrantInfo.load(grant, catalog: catalog, on: request.db))
        }
        return List(grants: infos)
    }

    func show(request: Request) async throws -> GrantInfo {
        let grant = try await find(request)
        let catalog = try await request.application.providerCatalog.forApp(grant.$app.id, on: request.db)
        return try await GrantInfo.load(grant, catalog: catalog, on: request.db)
    }

    /// Revokes at the provider (RFC 7009) where it can, then forgets the tokens and the grant.
    func revoke(request: Request) async throws -> Revoked {
        let revoked = try await GrantRevocation.revoke(try await find(request), reason: nil, request: request)
        return Revoked(grantID: revoked.grantID.lowercasedString, revokedAtProvider: revoked.revokedAtProvider)
    }

    private func find(_ request: Request) async throws -> Grant {
        _ = try request.authenticatedApp  // the app's own key: agents do not read or revoke grants here
        return try await GrantResolver(request: request, caller: request.caller).resolveModel(.init(grantID: request.parameters.get("grant")))
    }
}
