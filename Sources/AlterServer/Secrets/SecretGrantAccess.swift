import Foundation

/// Whether a caller may use a managed-secret grant: the app may use any of its own grants;
/// with a `user_token`, only that user's; an agent, only its own. A grant another principal
/// holds answers exactly like an unknown one. Then: revoked → `grant_revoked`, past its
/// policy expiry → `grant_expired`.
enum SecretGrantAccess {
    enum Caller: Sendable, Equatable {
        /// The app's key, acting for itself.
        case app
        /// The end user a verified `user_token` names (`sub`).
        case user(String)
        /// `/v1/request`'s free-text `agent`: secret grants are never delegated by name.
        case agentNamed(String)
        case agent(UUID)
    }

    static func check(_ grant: SecretGrant, caller: Caller, now: Date) throws {
        switch caller {
        case .app: break
        case .user(let subject):
            guard grant.principalType == .user, grant.userSubject == subject else { throw ManagedSecrets.grantNotFound }
        case .agentNamed(let name):
            throw APIError(.agentNotDelegated, "This grant is not delegated to agent \(name.prefix(100)).")
        case .agent(let id):
            guard grant.principalType == .agent, grant.agentID == id else { throw ManagedSecrets.grantNotFound }
        }
        let id = grant.id?.uuidString.lowercased() ?? ""
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
        let mine = grants.filter { grant in
            switch caller {
            case .app: grant.principalType == .system
            case .user(let subject): grant.principalType == .user && grant.userSubject == subject
            case .agentNamed: false
            case .agent(let id): grant.principalType == .agent && grant.agentID == id
            }
        }
        let usable = mine.filter { $0.status == .active && !$0.isExpired(at: now) }
        guard usable.count <= 1 else {
            throw APIError(
                .ambiguousGrant, "Several grants of \(slug) are yours; send grant_id to pick one.",
                details: ["grant_ids": usable.compactMap { $0.id?.uuidString.lowercased() }.joined(separator: ",")])
        }
        guard let grant = usable.first ?? mine.first else { throw ManagedSecrets.grantNotFound }
        try check(grant, caller: caller, now: now)
        return grant
    }
}
