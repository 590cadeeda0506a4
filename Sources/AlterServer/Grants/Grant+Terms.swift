import FluentKit
import Foundation

extension Grant {
    /// Adds `connected_at` (when the person last connected the grant: made or re-authorized;
    /// NULL for grants stored before, whose lifetime counts from `created_at`) and `terms`
    /// (`GrantTerms` JSON from the session that connected it, issue 16).
    struct AddTerms: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(Grant.schema).field("connected_at", .datetime).update()
            try await database.schema(Grant.schema).field("terms", .string).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(Grant.schema).deleteField("terms").update()
            try await database.schema(Grant.schema).deleteField("connected_at").update()
        }
    }

    /// Where a lifetime (a session's TTL, a `grant_lifetime` rule) counts from: the last time
    /// the person connected, so reconnecting an expired grant (the `GrantExpiredError` remedy)
    /// renews it.
    var lifetimeStart: Date? { Self.lifetimeStart(connectedAt: connectedAt, createdAt: createdAt) }

    static func lifetimeStart(connectedAt: Date?, createdAt: Date?) -> Date? { connectedAt ?? createdAt }

    /// The grant's terms when a session connects it: the session's, over what the grant had
    /// (`GrantTerms.overridden(by:)`). A stored value that no longer reads is kept as it is, so
    /// the check goes on refusing (fail closed) instead of the grant losing its restrictions.
    func takeTerms(of session: ConnectSession) throws {
        guard let incoming = session.grantTerms else { return }
        let later = try GrantTerms.read(incoming)
        guard let current = terms else {
            terms = later.json
            return
        }
        guard let existing = try? GrantTerms.read(current) else { return }
        terms = existing.overridden(by: later).json
    }
}
