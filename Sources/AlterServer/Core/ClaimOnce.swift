import FluentKit
import Foundation
import SQLKit

/// The claim pattern: one conditional `UPDATE … WHERE id = ? AND <the row is still as the
/// caller saw it> RETURNING id`. The database applies it to the row once, so of two
/// concurrent callers (on one instance or several sharing PostgreSQL) exactly one wins and
/// the other learns it lost instead of overwriting the winner.
enum ClaimOnce {
    struct NotSQL: Error, CustomStringConvertible {
        var description: String { "claims need an SQL database" }
    }

    /// - Parameter update: adds the `set`s and the extra `where`s to an UPDATE of row `id`.
    /// - Returns: true when this call changed the row.
    static func claim(
        _ schema: String, id: UUID, on db: any Database, _ update: (SQLUpdateBuilder) -> SQLUpdateBuilder
    ) async throws -> Bool {
        guard let sql = db as? any SQLDatabase else { throw NotSQL() }
        let rows = try await update(sql.update(schema).where("id", .equal, id)).returning("id").all()
        return rows.count == 1
    }
}
