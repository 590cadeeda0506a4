import FluentKit
import Foundation
import SQLKit

/// Instances sharing one database must hold one key ring (security review F17). Each key id
/// gets a check value in the database (`Sealer.checkValue`, an HMAC that reveals nothing of
/// the key) from the first instance that has it; an instance whose key under a known id
/// differs refuses to start, before it seals anything another instance could not open.
/// Each key some instance seals with is marked `sealing`; an instance whose ring lacks a
/// marked key refuses too, since it could not open what that instance writes.
/// A completed rotation (`alter keys rotate-encryption`) clears the marks of the other keys:
/// every secret is then under its active key, so they may leave the ring.
enum KeyRingCheck {
    static let schema = "encryption_key_checks"

    /// Records this ring's check values and its active key, then compares with the others'.
    /// One transaction: a refused ring leaves nothing behind (its check values would otherwise
    /// lock out the right ring later).
    static func verify(_ sealer: Sealer, on db: any Database, at now: Date) async throws {
        try await db.transaction { tx in try await record(sealer, on: tx, at: now) }
    }

    private static func record(_ sealer: Sealer, on db: any Database, at now: Date) async throws {
        let sql = try sql(db)
        let active = sealer.activeKey.id
        for id in sealer.keyIDs.sorted() {
            guard let check = sealer.checkValue(forKey: id) else { continue }
            // ON CONFLICT DO NOTHING: of two instances starting at once, one check value wins
            // (the other's insert waits for it to commit) and the other compares against it below.
            try await sql.insert(into: schema).columns("key_id", "check_value", "sealing_since")
                .values(SQLBind(id), SQLBind(check), SQLBind(id == active ? now : Date?.none))
                .ignoringConflicts(with: ["key_id"])
                .run()
        }
        try await sql.update(schema).set("sealing_since", to: SQLBind(now))
            .where("key_id", .equal, SQLBind(active)).where("sealing_since", .is, SQLLiteral.null).run()

        let rows = try await sql.select().columns("key_id", "check_value", "sealing_since").from(schema).all()
        for row in rows {
            let id = try row.decode(column: "key_id", as: String.self)
            let stored = try row.decode(column: "check_value", as: String.self)
            if let mine = sealer.checkValue(forKey: id), mine != stored {
                throw ConfigurationError(
                    "encryption key '\(id)' differs from the key '\(id)' already used with this database (its check value does not match): every instance sharing the database needs the same ALTER_ENCRYPTION_KEYS")
            }
            if try row.decode(column: "sealing_since", as: Date?.self) != nil, !sealer.keyIDs.contains(id) {
                throw ConfigurationError(
                    "encryption key '\(id)' is the active key of an instance sharing this database, and this instance's key ring lacks it (it could not open what that instance writes): add '\(id)' to ALTER_ENCRYPTION_KEYS")
            }
        }
    }

    /// After a completed rotation (`SecretRotation`): only `active` seals from now on.
    static func rotationFinished(active: String, on db: any Database) async throws {
        try await sql(db).update(schema).set("sealing_since", to: SQLLiteral.null).where("key_id", .notEqual, SQLBind(active)).run()
    }

    private static func sql(_ db: any Database) throws -> any SQLDatabase {
        guard let sql = db as? any SQLDatabase else { throw ConfigurationError("the key-ring check needs an SQL database") }
        return sql
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(KeyRingCheck.schema)
                .field("key_id", .string, .identifier(auto: false))
                .field("check_value", .string, .required)
                .field("sealing_since", .datetime)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(KeyRingCheck.schema).delete()
        }
    }
}
