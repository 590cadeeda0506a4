import FluentKit
import FluentPostgresDriver
import NIOConcurrencyHelpers
import SQLKit

/// A statement written with SQLKit's builders, serialized to text once per SQL dialect and
/// then run with each call's bind values. The hot path's reads are the same statement every
/// time, and SQLKit serializes a statement afresh on each run, quoting every identifier one
/// append at a time: for the grant read that was 5% of a proxied call's CPU, more than
/// SQLite's own parse of the text (issue 14).
final class SerializedStatement: Sendable {
    private let build: @Sendable (any SQLDatabase) -> any SQLExpression
    private let texts = NIOLockedValueBox<[String: (sql: String, binds: Int)]>([:])

    /// - Parameter build: the statement, with a placeholder value in each bind (`SQLBind`);
    ///   only its text is kept, and `rows(on:binds:)` supplies the values, in the same order.
    init(_ build: @escaping @Sendable (any SQLDatabase) -> any SQLExpression) {
        self.build = build
    }

    /// The statement's rows with `binds` in place of the placeholders, in order. With `direct`
    /// on SQLite, read on this thread (`SQLiteDirectReads`) when it can; with `prepared` on
    /// PostgreSQL, run as a prepared statement (`PreparedSQLStatement`) when it can.
    func rows(on db: any SQLDatabase, binds: [any Encodable & Sendable], direct: SQLiteDirectReads? = nil,
              prepared: (any PostgresPreparedRun.Type)? = nil) async throws -> [any SQLRow] {
        let dialect = db.dialect.name
        let text = serialized(for: db)
        precondition(binds.count == text.binds, "a serialized statement takes \(text.binds) binds")
        if let direct, dialect == "sqlite", let rows = direct.rows(text.sql, binds: binds) { return rows }
        if let prepared, dialect == "postgresql", let postgres = db as? any PostgresDatabase,
           let rows = try await prepared.rows(on: postgres, binds: binds, inTransaction: (db as? any Database)?.inTransaction ?? false, logger: db.logger) {
            return rows
        }
        let rows = NIOLockedValueBox<[any SQLRow]>([])
        try await db.execute(sql: Text(sql: text.sql, binds: binds)) { row in rows.withLockedValue { $0.append(row) } }
        return rows.withLockedValue { $0 }
    }

    /// The text for a dialect `rows(on:)` has already serialized the statement for.
    func text(forDialect dialect: String) -> String {
        guard let known = texts.withLockedValue({ $0[dialect] }) else { preconditionFailure("\(dialect) text asked before the statement ran there") }
        return known.sql
    }

    private func serialized(for db: any SQLDatabase) -> (sql: String, binds: Int) {
        let dialect = db.dialect.name
        if let known = texts.withLockedValue({ $0[dialect] }) { return known }
        let serialized = db.serialize(build(db))
        let text = (serialized.sql, serialized.binds.count)
        texts.withLockedValue { $0[dialect] = text }
        return text
    }

    /// Serialized text and its binds, written as they are.
    private struct Text: SQLExpression {
        let sql: String
        let binds: [any Encodable & Sendable]

        func serialize(to serializer: inout SQLSerializer) {
            serializer.write(sql)
            serializer.binds.append(contentsOf: binds)
        }
    }
}
