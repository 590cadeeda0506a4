import Fluent
import FluentKit
import Foundation
import Vapor

/// Finds the grant a call is about — by id, or by provider (+ account) among the end user's
/// grants (with a `user_token`) or the app's own (without) — among the calling app's grants
/// only. Another app's grant, or another user's, answers exactly like an unknown one; a
/// grant revoked earlier answers `grant_revoked`. The grant found must pass
/// `CredentialAccess` for the caller: an agent finds only grants delegated to it.
struct GrantResolver {
    let request: Request
    let caller: Caller
    var app: ClientApp { caller.app }

    struct Reference {
        var grantID: String?
        var userToken: String?
        var provider: String?
        var accountIdentifier: String?
    }

    static let notFound = APIError(.grantNotFound, "No such grant for this app.")

    /// - Parameter found: the grant `reference.grantID` names, when the caller already read it
    ///   (`CredentialResolver` reads OAuth grants first).
    func resolve(_ reference: Reference, found known: GrantRecord? = nil) async throws -> GrantRecord {
        let appID = try app.requireID()
        // The end user a user_token names; grants of anyone else are not theirs to use.
        var subject: String?
        if let userToken = reference.userToken {
            // An agent acts on its delegations, never as an end user (the SDK's rule).
            guard caller.kind != .agentKey else {
                throw APIError(.agentUserTokenRefused, "An agent key cannot send user_token: it acts only on the grants delegated to its agent.")
            }
            subject = try await request.application.userTokenVerifier.verify(userToken, for: app)
        }
        let grant: GrantRecord
        if let raw = reference.grantID {
            guard let id = UUID(text: raw) else { throw Self.notFound }
            var found = known
            if found == nil { found = try await Grant.read(id: id, appID: appID, on: request.database, direct: request.application.sqliteDirectReads) }
            guard let found else {
                if let revoked = try await RevokedGrant.query(on: request.database).filter(\.$id == id).filter(\.$appID == appID).first(),
                    subject == nil || revoked.userSubject == subject
                {
                    throw APIError(
                        .grantRevoked, "This grant was revoked; connect the account again.",
                        details: ["grant_id": id.lowercasedString])
                }
                throw Self.notFound
            }
            if let subject, found.userSubject != subject { throw Self.notFound }
            grant = found
        } else if let provider = reference.provider {
            // Without a user_token: the app's own grants (connected in sessions without a user,
            // each with an anonymous subject of its own since F4).
            var query = Grant.query(on: request.database).filter(\.$app.$id == appID).filter(\.$provider == provider)
            if let subject { query = query.filter(\.$userSubject == subject) }
            if let account = reference.accountIdentifier { query = query.filter(\.$accountIdentifier == account) }
            // An agent looks among its delegations only, so another grant of the same provider is no ambiguity.
            if let agent = caller.agent { query = query.filter(\.$id ~~ Array(try await CredentialAccess.delegatedGrantIDs(to: agent, on: request.database))) }
            let matches = try await query.sort(\.$accountIdentifier).all().filter { subject != nil || caller.agent != nil || $0.user == nil }
            guard let first = matches.first else {
                if let agent = caller.agent {
                    throw APIError(
                        .agentNotDelegated, "No \(provider) grant is delegated to agent \(agent.name).",
                        details: ["provider_id": provider, "agent_id": try agent.publicID()])
                }
                throw Self.notFound
            }
            guard matches.count == 1 else {
                throw APIError(
                    .ambiguousGrant, "Several \(provider) accounts are connected; send account_identifier to pick one.",
                    details: [
                        "accounts": matches.map(\.accountIdentifier).joined(separator: ","),
                        "grant_ids": try matches.map { try $0.publicID() }.joined(separator: ","),
                    ])
            }
            grant = try GrantRecord(first)
        } else {
            throw APIError.invalidRequest("Send grant_id, or provider (with user_token for a user's grant).")
        }
        try await CredentialAccess.authorize(caller, toUse: .oauthGrant(grant), on: request.database)
        return grant
    }

    /// The grant as a model, for what changes or lists it (revocation, the grant's page):
    /// resolved by the same rules, then read again as Fluent's model.
    func resolveModel(_ reference: Reference) async throws -> Grant {
        let record = try await resolve(reference)
        guard let grant = try await Grant.find(record.id, on: request.database), grant.$app.id == record.appID else { throw Self.notFound }
        return grant
    }
}
