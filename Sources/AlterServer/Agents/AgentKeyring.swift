import Fluent
import FluentKit
import Foundation
import Vapor

/// An agent's keys: mint, list, deprecate, undeprecate, revoke. The keys are `api_keys`
/// rows (`APIKey.make(for:name:)`), so the one lookup (`AppKeys`) accepts them; this type
/// holds only their lifecycle rules. Revocation is terminal, and revoking the last key
/// that still works needs `force` (the agent would be locked out until a new key is minted).
struct AgentKeyring {
    let db: any Database
    let agent: Agent
    let now: Date
    /// Forgotten on every change, so a revoked or deprecated key reads as such at once here.
    let cache: AppKeyCache

    /// Enough for overlapping rotations; more is a leak waiting to happen.
    static let maxUnrevokedKeys = 10

    func list() async throws -> [APIKey] {
        try await APIKey.query(on: db).filter(\.$agent.$id == agent.requireID()).sort(\.$createdAt).sort(\.$id).all()
    }

    /// A new key, shown once (`secret`).
    func mint() async throws -> (key: APIKey, secret: String) {
        guard agent.status != .revoked else { throw APIError(.agentNotFound, "Agent \(agent.name) was revoked; it cannot get keys.") }
        let keys = try await list()
        guard keys.filter({ $0.revokedAt == nil }).count < Self.maxUnrevokedKeys else {
            throw APIError(.agentKeyLimitReached, "Agent \(agent.name) already holds \(Self.maxUnrevokedKeys) keys; revoke one first.")
        }
        let (key, secret) = try APIKey.make(for: agent, name: "\(agent.name)-\(keys.count + 1)")
        try await key.create(on: db)
        return (key, secret)
    }

    /// Marks the key deprecated (idempotent: the first date stays).
    func deprecate(_ keyID: String) async throws -> APIKey {
        let key = try await find(keyID)
        guard key.revokedAt == nil else { throw Self.alreadyRevoked }
        if key.deprecatedAt == nil {
            key.deprecatedAt = now
            try await key.update(on: db)
            cache.removeAll()
        }
        return key
    }

    func undeprecate(_ keyID: String) async throws -> APIKey {
        let key = try await find(keyID)
        guard key.revokedAt == nil else { throw Self.alreadyRevoked }
        if key.deprecatedAt != nil {
            key.deprecatedAt = nil
            try await key.update(on: db)
            cache.removeAll()
        }
        return key
    }

    /// Revokes the key (idempotent). The last unrevoked key needs `force`.
    func revoke(_ keyID: String, force: Bool) async throws -> APIKey {
        let key = try await find(keyID)
        guard key.revokedAt == nil else { return key }
        let others = try await list().filter { $0.revokedAt == nil && $0.id != key.id }
        guard force || !others.isEmpty else {
            throw APIError(
                .lastActiveKey, "This is agent \(agent.name)'s last key; mint another first, or pass force to lock the agent out.")
        }
        key.revokedAt = now
        try await key.update(on: db)
        cache.removeAll()
        return key
    }

    private func find(_ raw: String) async throws -> APIKey {
        guard let id = UUID(text: raw),
            let key = try await APIKey.query(on: db).filter(\.$id == id).filter(\.$agent.$id == agent.requireID()).first()
        else { throw APIError(.keyNotFound, "Agent \(agent.name) has no key \(String(raw.prefix(64))).") }
        return key
    }

    static let alreadyRevoked = APIError(.keyAlreadyRevoked, "The key is revoked; revocation cannot be undone.")
}
