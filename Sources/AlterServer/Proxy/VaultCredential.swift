import Fluent
import FluentKit
import Foundation
import Vapor

/// What a call's reference (`grant_id`, or provider + user) names: an OAuth grant or a grant
/// of a managed secret. `/v1/request`, `/sdk/token` and `/sdk/proxy` all resolve through
/// `CredentialResolver`, so both kinds are used by the same ids in the same places.
enum VaultCredential {
    case oauth(GrantRecord)
    case secret(SecretGrant, ManagedSecret)
}

/// Resolves a reference for `caller`: a managed-secret grant by its id (or by its secret's
/// slug as `provider`), else an OAuth grant (`GrantResolver`). Either way the one access
/// rule, `CredentialAccess`, decides whether the caller may use it.
struct CredentialResolver {
    let request: Request
    let caller: Caller

    func resolve(_ reference: GrantResolver.Reference) async throws -> VaultCredential {
        // OAuth grants are the common case: read first, so their calls cost one query, not two.
        if let raw = reference.grantID, let id = UUID(text: raw),
            let grant = try await Grant.read(id: id, appID: try caller.app.requireID(), on: request.database, direct: request.application.sqliteDirectReads)
        {
            return .oauth(try await GrantResolver(request: request, caller: caller).resolve(reference, found: grant))
        }
        let secrets = ManagedSecrets(application: request.application, db: request.database, appID: try caller.app.requireID(), caller: request.alterCaller)
        let now = request.application.clock.now()
        if let raw = reference.grantID, let id = UUID(text: raw), let (grant, secret) = try await secrets.grant(id: id) {
            try await CredentialAccess.authorize(caller, toUse: .managedSecretGrant(grant, userSubject: try await subject(reference)), on: request.database)
            try SecretGrantAccess.checkUsable(grant, now: now)
            return .secret(grant, secret)
        }
        if reference.grantID == nil, let slug = reference.provider, UUID(text: slug) == nil, let secret = try? await secrets.find(slug) {
            let subject = try await subject(reference)
            let principal: SecretGrantAccess.Caller = caller.agentID.map { .agent($0) } ?? subject.map { .user($0) } ?? .app
            let grant = try SecretGrantAccess.pick(try await secrets.grants(of: secret), caller: principal, now: now, slug: slug)
            try await CredentialAccess.authorize(caller, toUse: .managedSecretGrant(grant, userSubject: subject), on: request.database)
            return .secret(grant, secret)
        }
        return .oauth(try await GrantResolver(request: request, caller: caller).resolve(reference))
    }

    /// The end user a `user_token` names; an agent key never acts as a user (the SDK's rule).
    private func subject(_ reference: GrantResolver.Reference) async throws -> String? {
        guard let token = reference.userToken else { return nil }
        guard caller.kind != .agentKey else {
            throw APIError(.agentUserTokenRefused, "An agent key cannot send user_token: it acts only on the grants made or delegated to its agent.")
        }
        return try await request.application.userTokenVerifier.verify(token, for: caller.app)
    }
}
