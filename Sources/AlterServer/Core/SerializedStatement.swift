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
    /// on SQLite, read on this thread (`SQLiteDirectReads`) when it can.
    func rows(on db: any SQLDatabase, binds: [any Encodable & Sendable], direct: SQLiteDirectReads? = nil) async throws -> [any SQLRow] {
        let dialect = db.dialect.name
        let text: (sql: String, binds: Int)
        if let known = texts.withLockedValue({ $0[dialect] }) {
            text = known
        } else {
            let serialized = db.serialize(build(db))
            text = (serialized.sql, serialized.binds.count)
            texts.withLockedValue { $0[dialect] = text }
        }
        precondition(binds.count == text.binds, "a serialized statement takes \(text.binds) binds")
        if let direct, dialect == "sqlite", let rows = direct.rows(text.sql, binds: binds) { return rows }
        let rows = NIOLockedValueBox<[any SQLRow]>([])
        try await db.execute(sql: Text(sql: text.sql, binds: binds)) { row in rows.withLockedValue { $0.append(row) } }
        return rows.withLockedValue { $0 }
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
