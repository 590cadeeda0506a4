import Foundation

/// Whether a caller may use a managed-secret grant: the app may use any of its own grants;
/// with a `user_token`, only that user's; an agent (by its key or through the app), only its
/// own. A grant another principal holds answers exactly like an unknown one. Then, for a
/// grant the caller may use: revoked → `grant_revoked`, past its policy expiry →
/// `grant_expired`. (`CredentialAccess` asks `isPrincipal`; the resolver asks `checkUsable`.)
enum SecretGrantAccess {
    enum Caller: Sendable, Equatable {
        /// The app's key, acting for itself.
        case app
        /// The end user a verified `user_token` names (`sub`).
        case user(String)
        case agent(UUID)
    }

    static func isPrincipal(_ grant: SecretGrant, for caller: Caller) -> Bool {
        switch caller {
        case .app: true
        case .user(let subject): grant.principalType == .user && grant.userSubject == subject
        case .agent(let id): grant.principalType == .agent && grant.agentID == id
        }
    }

    static func checkUsable(_ grant: SecretGrant, now: Date) throws {
        let id = grant.id?.lowercasedString ?? ""
        guard grant.status == .active else {
            throw APIError(.grantRevoked, "This grant was revoked; ask the operator for a new one.", details: ["grant_id": id])
        }
        guard !grant.isExpired(at: now) else {
            throw APIError(.grantExpired, "This grant's policy expired at its expires_at; ask the operator for a new one.", details: ["grant_id": id])
        }
    }

    /// By the secret's slug (`request(provider=…)`): the caller's one grant of it — the
    /// user's with a `user_token`, the app's own (system) without.
    static func pick(_ grants: [SecretGrant], caller: Caller, now: Date, slug: String) throws -> SecretGrant {
        // By slug the app means its own (system) grant, not any grant it holds.
        let mine = grants.filter { caller == .app ? $0.principalType == .system : isPrincipal($0, for: caller) }
        let usable = mine.filter { $0.status == .active && !$0.isExpired(at: now) }
        guard usable.count <= 1 else {
            throw APIError(
                .ambiguousGrant, "Several grants of \(slug) are yours; send grant_id to pick one.",
                details: ["grant_ids": usable.compactMap { $0.id?.lowercasedString }.joined(separator: ",")])
        }
        guard let grant = usable.first ?? mine.first else { throw ManagedSecrets.grantNotFound }
        try checkUsable(grant, now: now)
        return grant
    }
}
