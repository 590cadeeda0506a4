import Fluent
import FluentKit
import Foundation
import Vapor

/// Everything done to an app's managed secrets and their grants, for every surface (`/v1`,
/// `/sdk`, the CLI): create, find, rotate, change hosts, delete, grant, revoke. Values are
/// sealed here and nowhere else; rotation, grants and deletions are audited.
struct ManagedSecrets {
    let application: Application
    let db: any Database
    let appID: UUID
    /// Who is acting, for the audit entries (`Alter-Caller`, or `cli`).
    var caller: String?

    enum Principal: Sendable, Equatable {
        case user(subject: String)
        case system
        case agent(UUID)
    }

    static let notFound = APIError(.notFound, "No such managed secret for this app.")
    static let grantNotFound = APIError(.grantNotFound, "No such grant for this app.")

    func create(_ definition: SecretDefinition) async throws -> ManagedSecret {
        guard try await ManagedSecret.query(on: db).filter(\.$app.$id == appID).filter(\.$slug == definition.slug).first() == nil else {
            throw APIError.invalidRequest("A managed secret with slug \(definition.slug) exists; choose another slug.")
        }
        let secret = ManagedSecret()
        let id = UUID()
        secret.id = id
        secret.$app.id = appID
        secret.slug = definition.slug
        secret.name = definition.name
        secret.template = definition.template.slug
        secret.kind = definition.injection.kind
        secret.header = definition.injection.header
        secret.format = definition.injection.format
        secret.queryParameter = definition.injection.queryParameter
        secret.allowedHosts = definition.allowedHosts
        secret.allowsPrivateNetwork = definition.allowsPrivateNetwork
        secret.sealedValue = try definition.value.sealed(using: application.sealer, row: id)
        try await secret.create(on: db)
        await audit(.secretCreated, secret: secret)
        return secret
    }

    func all() async throws -> [ManagedSecret] {
        try await ManagedSecret.query(on: db).filter(\.$app.$id == appID).sort(\.$slug).all()
    }

    /// By id or slug, among this app's secrets only.
    func find(_ reference: String?) async throws -> ManagedSecret {
        guard let reference, !reference.isEmpty else { throw Self.notFound }
        var query = ManagedSecret.query(on: db).filter(\.$app.$id == appID)
        if let id = UUID(text: reference) { query = query.filter(\.$id == id) } else { query = query.filter(\.$slug == reference) }
        guard let secret = try await query.first() else { throw Self.notFound }
        return secret
    }

    /// Replaces the value in place: every grant keeps its id and uses the new value on its
    /// next call; the old one is overwritten in the same update.
    func rotate(_ secret: ManagedSecret, value raw: [String: String]?) async throws {
        guard let raw else { throw APIError.invalidRequest("value is required.") }
        let value: SecretValue
        do { value = try SecretValue(parsing: raw, for: secret.injection) } catch { throw APIError.invalidRequest(error.description) }
        secret.sealedValue = try value.sealed(using: application.sealer, row: try secret.requireID())
        secret.rotatedAt = application.clock.now()
        try await secret.update(on: db)
        await audit(.secretRotated, secret: secret)
    }

    func setAllowedHosts(_ secret: ManagedSecret, _ hosts: [String]?, allowsPrivateNetwork: Bool?) async throws {
        let privateNetwork = allowsPrivateNetwork ?? secret.allowsPrivateNetwork
        do {
            secret.allowedHosts = try SecretDefinition.hosts(hosts ?? [], allowsPrivateNetwork: privateNetwork)
        } catch { throw APIError.invalidRequest(error.description) }
        secret.allowsPrivateNetwork = privateNetwork
        try await secret.update(on: db)
        await audit(.secretHostsChanged, secret: secret)
    }

    /// Deletes the secret and every grant of it.
    func delete(_ secret: ManagedSecret) async throws {
        try await db.transaction { db in
            try await SecretGrant.query(on: db).filter(\.$secret.$id == (try secret.requireID())).delete()
            try await secret.delete(on: db)
        }
        await audit(.secretDeleted, secret: secret)
    }

    func grant(_ secret: ManagedSecret, to principal: Principal, label: String?, policy: SecretGrantPolicy) async throws -> SecretGrant {
        if let label { guard (1...255).contains(label.count) else { throw APIError.invalidRequest("label must be 1–255 characters.") } }
        let grant = SecretGrant()
        grant.id = UUID()
        grant.$app.id = appID
        grant.$secret.id = try secret.requireID()
        switch principal {
        case .user(let subject):
            grant.principalType = .user
            grant.userSubject = subject
        case .system: grant.principalType = .system
        case .agent(let id):
            grant.principalType = .agent
            grant.agentID = id
        }
        grant.label = label
        grant.status = .active
        grant.expiresAt = policy.expiresAt
        grant.maxTTLSeconds = policy.maxTTLSeconds
        grant.defaultTTLSeconds = policy.defaultTTLSeconds
        try await grant.create(on: db)
        await audit(.grant, secret: secret, grantID: grant.id)
        return grant
    }

    func grants(of secret: ManagedSecret) async throws -> [SecretGrant] {
        try await SecretGrant.query(on: db).filter(\.$secret.$id == (try secret.requireID())).sort(\.$createdAt).all()
    }

    /// This app's secret grant with this id, whatever its state, with its secret.
    func grant(id: UUID) async throws -> (SecretGrant, ManagedSecret)? {
        guard let grant = try await SecretGrant.query(on: db).filter(\.$id == id).filter(\.$app.$id == appID).with(\.$secret).first() else {
            return nil
        }
        return (grant, grant.secret)
    }

    /// Revoked at once: the next call with this grant_id answers `grant_revoked`.
    func revoke(_ grant: SecretGrant, secret: ManagedSecret, reason: String?) async throws {
        guard grant.status != .revoked else { return }
        grant.status = .revoked
        try await grant.update(on: db)
        await audit(.revoke, secret: secret, grantID: grant.id, reason: reason)
    }

    private func audit(_ action: AuditEvent.Action, secret: ManagedSecret, grantID: UUID? = nil, reason: String? = nil) async {
        var event = AuditEntry(appID: appID, grantID: grantID, action: action, caller: caller, agent: nil, status: nil, at: application.clock.now())
        event.context = ["managed_secret_id": secret.id?.lowercasedString ?? "", "managed_secret_slug": secret.slug]
        event.reason = reason.map { String($0.prefix(AuditEvent.maxReasonLength)) }
        application.auditLog.record(event)
    }
}
