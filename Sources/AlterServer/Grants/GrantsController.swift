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
        var query = Grant.query(on: request.db).filter(\.$app.$id == (try app.requireID()))
        if let provider = request.query[String.self, at: "provider"] { query = query.filter(\.$provider == provider) }
        if let user = request.query[String.self, at: "user"] { query = query.filter(\.$userSubject == user) }
        if let agent = request.query[String.self, at: "agent"] {
            let delegated = try await Delegation.query(on: request.db).filter(\.$agent == agent).all(\.$grant.$id)
            query = query.filter(\.$id ~~ delegated)
        }
        let grants = try await query.sort(\.$createdAt).all()
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
        let grant = try await find(request)
        let grantID = try grant.requireID()
        let now = request.application.clock.now()
        let revokedAtProvider = await Self.revokeAtProvider(grant, request: request)
        let catalog = try await request.application.providerCatalog.forApp(grant.$app.id, on: request.db)
        let caller = request.alterCaller
        try await request.db.transaction { db in
            grant.status = .revoked
            try await GrantEvents.enqueue(.grantRevoked, grant: grant, catalog: catalog, at: now, on: db)
            try await AuditEvent(appID: grant.$app.id, grantID: grantID, action: .revoke, caller: caller, agent: nil, status: revokedAtProvider ? 200 : nil, at: now)
                .create(on: db)
            try await grant.delete(on: db)
        }
        return Revoked(grantID: grantID.uuidString.lowercased(), revokedAtProvider: revokedAtProvider)
    }

    private func find(_ request: Request) async throws -> Grant {
        let app = try request.authenticatedApp.app
        return try await GrantResolver(request: request, app: app).resolve(.init(grantID: request.parameters.get("grant")))
    }

    /// RFC 7009: revoke the refresh token (which ends the access tokens with it at most
    /// providers), else the access token. False when the provider has no endpoint or failed.
    static func revokeAtProvider(_ grant: Grant, request: Request) async -> Bool {
        let sealer = request.application.sealer
        guard let provider = try? await request.application.providerCatalog.provider(grant.provider, forApp: grant.$app.id, on: request.db),
            let revocationURL = provider.revocationURL,
            let config = try? await ProviderConfig.query(on: request.db).filter(\.$app.$id == grant.$app.id).filter(\.$provider == grant.provider).first(),
            let secret = try? config.clientSecret(using: sealer),
            let token = (try? grant.refreshToken(using: sealer)) ?? (try? grant.accessToken(using: sealer)),
            let url = try? ProviderURLTemplate.resolve(revocationURL, provider: provider, values: (config.variables ?? [:]).merging(grant.variables ?? [:]) { $1 })
        else { return false }
        let hint = (try? grant.refreshToken(using: sealer)) != nil ? "refresh_token" : "access_token"
        return await request.application.oauthClient.revoke(token, hint: hint, url: url, provider: provider, config: config, clientSecret: secret)
    }
}
