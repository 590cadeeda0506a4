import Fluent
import FluentKit
import Foundation
import Vapor

/// Revoking a grant, for every surface (`DELETE /v1/grants/{id}`, the SDK's revoke): at the
/// provider where it can (RFC 7009), then the tokens and the grant are deleted, a tombstone
/// (`RevokedGrant`) is kept, and the revocation is audited (with the app's `reason`) and
/// announced (`grant.revoked`), all in one transaction.
enum GrantRevocation {
    struct Revoked {
        let grantID: UUID
        let revokedAtProvider: Bool
        let at: Date
    }

    static func revoke(_ grant: Grant, reason: String?, request: Request) async throws -> Revoked {
        let grantID = try grant.requireID()
        let now = request.application.clock.now()
        let revokedAtProvider = await revokeAtProvider(grant, request: request)
        let catalog = try await request.application.providerCatalog.forApp(grant.$app.id, on: request.db)
        let caller = request.alterCaller
        // It reads (the app's webhook settings) before it writes: on SQLite that upgrade fails at
        // once while another connection writes, and the whole transaction runs again
        // (WriteTransaction). Everything it changes is made anew on each run.
        try await WriteTransaction.run(on: request.db) { db in
            grant.status = .revoked
            try await GrantEvents.enqueue(.grantRevoked, grant: grant, catalog: catalog, at: now, on: db)
            var event = AuditEntry(
                appID: grant.$app.id, grantID: grantID, action: .revoke, caller: caller, agent: nil, status: revokedAtProvider ? 200 : nil, at: now)
            event.reason = reason
            try await AuditLog.insert([event], on: db)
            try await RevokedGrant(grant: grant, at: now).create(on: db)
            // By query, not `grant.delete`: the model stays as it was read if this run rolls back.
            try await Grant.query(on: db).filter(\.$id == grantID).delete()
        }
        return Revoked(grantID: grantID, revokedAtProvider: revokedAtProvider, at: now)
    }

    /// RFC 7009: revoke the refresh token and the access token, each where the grant has
    /// one. Revoking the refresh token ends its access tokens only at some providers (RFC 7009
    /// §2.1 leaves it to them), and a bearer access token copied out through
    /// `/v1/grants/{id}/token` must not outlive the grant. True when the provider accepted
    /// the first one; false when it has no endpoint or failed.
    static func revokeAtProvider(_ grant: Grant, request: Request) async -> Bool {
        let sealer = request.application.sealer
        guard let provider = try? await request.application.providerCatalog.provider(grant.provider, forApp: grant.$app.id, on: request.db),
            let revocationURL = provider.revocationURL,
            let config = try? await ProviderConfig.query(on: request.db).filter(\.$app.$id == grant.$app.id).filter(\.$provider == grant.provider).first(),
            let secret = try? config.clientSecret(using: sealer),
            let url = try? ProviderURLTemplate.resolve(revocationURL, provider: provider, values: (config.variables ?? [:]).merging(grant.variables ?? [:]) { $1 })
        else { return false }
        let tokens = [((try? grant.refreshToken(using: sealer)) ?? nil, "refresh_token"), (try? grant.accessToken(using: sealer), "access_token")]
        var accepted: [Bool] = []
        for case let (token?, hint) in tokens {
            accepted.append(await request.application.oauthClient.revoke(token, hint: hint, url: url, provider: provider, config: config, clientSecret: secret))
        }
        return accepted.first ?? false
    }
}
