import Fluent
import FluentKit
import Foundation

/// The secret grants of an app that match a filter, oldest first, for the SDK's
/// `list_grants` (after the OAuth grants) and `alter secrets grants`.
struct SecretGrantListing {
    /// The secret's slug (`provider_id` in the SDK's filter).
    var slug: String?
    /// The end user's `sub`: only their grants.
    var userSubject: String?
    /// `active`, `revoked` or `expired`.
    var status: String?
    var label: String?
    /// Only the grants made to this agent (an agent's own listing).
    var agentID: UUID?

    static let statuses: Set<String> = ["active", "revoked", "expired"]

    struct Page {
        let grants: [(SecretGrant, ManagedSecret)]
        let total: Int
    }

    func page(appID: UUID, now: Date, limit: Int, offset: Int, on db: any Database) async throws -> Page {
        var query = SecretGrant.query(on: db).filter(\.$app.$id == appID).join(ManagedSecret.self, on: \SecretGrant.$secret.$id == \ManagedSecret.$id)
        if let slug { query = query.filter(ManagedSecret.self, \.$slug == slug) }
        if let userSubject { query = query.filter(\.$principalType == .user).filter(\.$userSubject == userSubject) }
        if let label { query = query.filter(\.$label == label) }
        if let agentID { query = query.filter(\.$principalType == .agent).filter(\.$agentID == agentID) }
        switch status {
        case "revoked": query = query.filter(\.$status == .revoked)
        case "active": query = query.filter(\.$status == .active).group(.or) { $0.filter(\.$expiresAt == nil).filter(\.$expiresAt > now) }
        case "expired": query = query.filter(\.$status == .active).filter(\.$expiresAt <= now)
        default: break
        }
        let total = try await query.copy().count()
        let grants = try await query.sort(\.$createdAt).sort(\.$id).range(offset..<(offset + limit)).all()
        return Page(grants: try grants.map { ($0, try $0.joined(ManagedSecret.self)) }, total: total)
    }
}
