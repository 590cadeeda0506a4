import FluentKit
import Foundation

/// Stores the outcome of a successful OAuth callback as a grant: a new one, or an existing
/// grant re-authorized. Reauth needs an owner to match: the session's end user (its
/// `user_token` subject) already has a grant for this app + provider + account, or the
/// session names the grant to repair (`repair_grant_id`) and the same account came back.
/// A session without either always makes a new grant: two anonymous end users who connect
/// the same account (an org-level id such as a HubSpot portal, a recycled login) must not
/// share one grant id or overwrite each other's tokens.
struct GrantWriter {
    let db: any Database
    let sealer: Sealer
    let catalog: ProviderCatalog
    let now: Date

    struct Written {
        let grant: Grant
        let operation: SessionGrant.Operation
    }

    func write(
        session: ConnectSession, provider: String, account: OAuthClient.Account, tokens: ProviderTokens, requestedScopes: [String]
    ) async throws -> Written {
        let appID = session.$app.id
        let subject = session.userSubject ?? ""
        // A simultaneous completion of the same account may insert the row first (the unique
        // constraint keeps one grant) or, on SQLite, hold the write lock: the outermost
        // transaction runs again and this one then updates that grant.
        return try await WriteTransaction.run(on: db) { db in
            try await attempt(session: session, appID: appID, subject: subject, provider: provider, account: account, tokens: tokens, requestedScopes: requestedScopes, on: db)
        }
    }

    private func attempt(
        session: ConnectSession, appID: UUID, subject: String, provider: String, account: OAuthClient.Account,
        tokens: ProviderTokens, requestedScopes: [String], on db: any Database
    ) async throws -> Written {
        let existing = try await reauthorizable(appID: appID, subject: subject, provider: provider, account: account, repair: session.repairGrantID, on: db)
        let grant = existing ?? Grant()
        if existing == nil {
            grant.id = UUID()
            grant.$app.id = appID
            grant.provider = provider
            grant.accountIdentifier = account.identifier
            grant.userSubject = subject.isEmpty ? Grant.anonymousSubject(grant.id!) : subject
        }
        grant.scopes = tokens.scopes ?? requestedScopes
        grant.status = .active
        grant.accountEmail = account.email ?? grant.accountEmail
        grant.accountDisplayName = account.displayName ?? grant.accountDisplayName
        if !tokens.variables.isEmpty { grant.variables = tokens.variables }
        grant.connectedAt = now
        // In the grant's own row, in this transaction: a grant never exists without the
        // restrictions its session asked for.
        try grant.takeTerms(of: session)
        // A reauth without a new refresh token keeps none: the old one belonged to the
        // authorization the user just replaced.
        if existing != nil && tokens.refreshToken == nil { grant.sealedRefreshToken = nil }
        try grant.store(tokens, using: sealer, at: now)
        try await grant.save(on: db)
        let grantID = try grant.requireID()
        let sessionID = try session.requireID()

        let operation: SessionGrant.Operation = existing == nil ? .creation : .reauth
        if try await SessionGrant.query(on: db).filter(\.$session.$id == sessionID).filter(\.$grant.$id == grantID).first() == nil {
            try await SessionGrant(sessionID: sessionID, grantID: grantID, operation: operation, at: now).create(on: db)
        }
        if let agentID = session.$agent.id, let agent = try await Agent.find(agentID, on: db) {
            try await Delegation.ensure(grantID: grantID, agent: agent, on: db)
        }
        try await GrantEvents.enqueue(operation == .creation ? .grantCreated : .grantReauthorized, grant: grant, catalog: catalog, at: now, on: db)
        return Written(grant: grant, operation: operation)
    }

    /// The grant this connection re-authorizes, if it has an owner to match (see above).
    private func reauthorizable(
        appID: UUID, subject: String, provider: String, account: OAuthClient.Account, repair: UUID?, on db: any Database
    ) async throws -> Grant? {
        let sameAccount = Grant.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == provider)
            .filter(\.$accountIdentifier == account.identifier)
        if let repair, let grant = try await sameAccount.filter(\.$id == repair).first(), grant.isOwned(bySubject: subject) {
            return grant
        }
        guard !subject.isEmpty else { return nil }
        return try await sameAccount.filter(\.$userSubject == subject).first()
    }
}
