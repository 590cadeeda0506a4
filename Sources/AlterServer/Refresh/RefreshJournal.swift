import FluentKit
import Foundation
import SQLKit

/// Refreshes whose provider call was sent and whose outcome is not stored yet: one row per
/// grant, committed *before* the token request and deleted in the same transaction that
/// stores the answer. A row that outlives its refresh means the answer was lost (the process
/// died, or the call timed out after the provider may have answered). At a provider that
/// rotates refresh tokens the stored one may then be dead while the grant still reads as
/// active; `RefreshRecovery` finds such rows and settles them (issue 14, crash test b).
///
/// A row proves nothing on its own while its refresh may still run: only the holder of the
/// grant's refresh lock (`RefreshCoordinator`: the advisory lock on PostgreSQL, held for the
/// whole provider call, and the in-process `RefreshGate`) may read a row as lost.
enum RefreshJournal {
    static let schema = "refreshes_in_flight"

    /// Records that a refresh of `grantID` is about to call the provider. Must be committed
    /// on its own (not inside the lock's transaction, which a crash rolls back).
    static func begin(_ grantID: UUID, at now: Date, on db: any Database) async throws {
        try await sql(db).insert(into: schema).columns("grant_id", "started_at").values(SQLBind(grantID), SQLBind(now))
            .onConflict(with: ["grant_id"]) { $0.set(excludedValueOf: "started_at") }
            .run()
    }

    /// The outcome is known (stored, or the provider answered without issuing tokens).
    static func settle(_ grantID: UUID, on db: any Database) async throws {
        try await sql(db).delete(from: schema).where("grant_id", .equal, SQLBind(grantID)).run()
    }

    /// True when a refresh of `grantID` began and never settled.
    static func isOpen(_ grantID: UUID, on db: any Database) async throws -> Bool {
        try await sql(db).select().column("grant_id").from(schema).where("grant_id", .equal, SQLBind(grantID)).first() != nil
    }

    /// Grants with an unsettled refresh, oldest first.
    static func open(limit: Int, on db: any Database) async throws -> [UUID] {
        try await sql(db).select().column("grant_id").from(schema).orderBy("started_at").limit(limit).all()
            .map { try $0.decode(column: "grant_id", as: UUID.self) }
    }

    private static func sql(_ db: any Database) throws -> any SQLDatabase {
        guard let sql = db as? any SQLDatabase else { throw ConfigurationError("the refresh journal needs an SQL database") }
        return sql
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(RefreshJournal.schema)
                .field("grant_id", .uuid, .identifier(auto: false), .references(Grant.schema, .id, onDelete: .cascade))
                .field("started_at", .datetime, .required)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(RefreshJournal.schema).delete()
        }
    }
}
