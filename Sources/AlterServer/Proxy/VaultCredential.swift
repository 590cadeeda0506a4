import Fluent
import FluentKit
import Foundation
import Vapor

/// What a call's reference (`grant_id`, or provider + user) names: an OAuth grant or a grant
/// of a managed secret. `/v1/request`, `/sdk/token` and `/sdk/proxy` all resolve through
/// `CredentialResolver`, so both kinds are used by the same ids in the same places.
enum VaultCredential {
    case oauth(Grant)
    case secret(SecretGrant, ManagedSecret)
}

struct CredentialResolver {
    let request: Request
    let app: ClientApp

    func resolve(_ reference: GrantResolver.Reference) async throws -> VaultCredential {
        let secrets = ManagedSecrets(application: request.application, db: request.db, appID: try app.requireID(), caller: request.alterCaller)
        if let raw = reference.grantID, let id = UUID(uuidString: raw), let (grant, secret) = try await secrets.grant(id: id) {
            try SecretGrantAccess.check(grant, caller: try await caller(reference), now: request.application.clock.now())
            return .secret(grant, secret)
        }
        if reference.grantID == nil, let slug = reference.provider, let secret = try? await secrets.find(slug), UUID(uuidString: slug) == nil {
            let grant = try SecretGrantAccess.pick(
                try await secrets.grants(of: secret), caller: try await caller(reference), now: request.application.clock.now(), slug: slug)
            return .secret(grant, secret)
        }
        return .oauth(try await GrantResolver(request: request, app: app).resolve(reference))
    }

    /// Who the call is for: the end user a `user_token` names, or the app itself.
    private func caller(_ reference: GrantResolver.Reference) async throws -> SecretGrantAccess.Caller {
        if let agent = reference.agent { return .agentNamed(agent) }
        if let token = reference.userToken { return .user(try await request.application.userTokenVerifier.verify(token, for: app)) }
        return .app
    }
}
