import FluentKit
import Foundation
import SQLKit

/// The calls counted against a rate-limit rule in one minute, per subject (a grant or an
/// agent), in the database: one `INSERT … ON CONFLICT DO UPDATE … RETURNING` is atomic on
/// SQLite and on PostgreSQL, so instances sharing a database share one count and a cluster
/// of two cannot allow twice the rate.
enum RateCounter {
    static let schema = "policy_rate_counters"
    static let window = 60

    /// Counts one call; returns the count in this minute, this call included.
    static func count(rule: UUID, subject: String, at now: Date, on db: any Database) async throws -> (count: Int, retryAfter: Int) {
        guard let sql = db as? any SQLDatabase else { throw ClaimOnce.NotSQL() }
        let seconds = Int(now.timeIntervalSince1970.rounded(.down))
        let windowStart = seconds - seconds % window
        let row = try await sql.raw("""
            INSERT INTO \(ident: schema) (id, rule_id, subject, window_start, count) VALUES (\(bind: UUID()), \(bind: rule), \(bind: subject), \(bind: windowStart), 1)
            ON CONFLICT (rule_id, subject, window_start) DO UPDATE SET count = \(ident: schema).count + 1 RETURNING count
            """).first()
        let count = try row?.decode(column: "count", as: Int.self) ?? Int.max
        if count == 1 {
            // A new minute for this subject: earlier minutes are of no more use.
            try await sql.delete(from: schema).where("rule_id", .equal, rule).where("subject", .equal, subject).where("window_start", .lessThan, windowStart).run()
        }
        return (count, max(1, windowStart + window - seconds))
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(RateCounter.schema)
                .id()
                .field("rule_id", .uuid, .required, .references(PolicyRule.schema, .id, onDelete: .cascade))
                .field("subject", .string, .required)
                .field("window_start", .int64, .required)
                .field("count", .int64, .required)
                .unique(on: "rule_id", "subject", "window_start")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(RateCounter.schema).delete()
        }
    }
}
