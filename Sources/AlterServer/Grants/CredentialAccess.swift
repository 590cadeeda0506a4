import Fluent
import FluentKit
import Foundation

/// The one rule for whether a caller may use a credential it named; every surface that
/// hands out or uses a credential asks here after resolving it (fail closed: a credential
/// kind without a case here cannot be used).
///
/// - A managed-secret grant: only its principal (`SecretGrantAccess.isPrincipal`): the app
///   any of its grants, or with a `user_token` that user's; an agent only the grants made to it.
/// - An OAuth grant: the app may use any of its grants (the resolvers only ever find the
///   app's own); an agent, by its key or through the app, only the grants delegated to it,
///   and of those only providers its allow-list names (when it has one).
enum CredentialAccess {
    enum Credential {
        case oauthGrant(GrantRecord)
        /// A grant of a managed secret, with the end user a `user_token` named (if any).
        case managedSecretGrant(SecretGrant, userSubject: String?)
    }

    static func authorize(_ caller: Caller, toUse credential: Credential, on db: any Database) async throws {
        switch credential {
        case .managedSecretGrant(let grant, let userSubject):
            let principal: SecretGrantAccess.Caller = caller.agentID.map { .agent($0) } ?? userSubject.map { .user($0) } ?? .app
            guard grant.$app.id == caller.app.id, SecretGrantAccess.isPrincipal(grant, for: principal) else { throw ManagedSecrets.grantNotFound }
        case .oauthGrant(let grant):
            guard grant.appID == caller.app.id else { throw GrantResolver.notFound }
            guard let agent = caller.agent else { return }
            let grantID = grant.id
            guard try await delegatedGrantIDs(to: agent, on: db, among: [grantID]).contains(grantID) else {
                throw APIError(
                    .agentNotDelegated, "This grant is not delegated to agent \(agent.name).",
                    details: ["grant_id": grantID.lowercasedString, "provider_id": grant.provider, "agent_id": try agent.publicID()])
            }
            if let allowed = agent.allowedProviders, !allowed.contains(grant.provider) {
                throw APIError(
                    .agentScopeDenied, "Agent \(agent.name)'s scopes do not include \(grant.provider).",
                    details: ["provider_id": grant.provider, "agent_id": try agent.publicID()])
            }
        }
    }

    /// The OAuth grants delegated to `agent` (optionally only among `ids`), for listings and
    /// lookups by provider.
    static func delegatedGrantIDs(to agent: Agent, on db: any Database, among ids: [UUID]? = nil) async throws -> Set<UUID> {
        var query = Delegation.query(on: db).filter(\.$agent.$id == (try agent.requireID()))
        if let ids { query = query.filter(\.$grant.$id ~~ ids) }
        return Set(try await query.all(\.$grant.$id))
    }
}
