import FluentKit
import FluentPostgresDriver
import Foundation
import SQLKit

/// A statement of the hot path that PostgreSQL parses and plans once per connection instead of
/// on every run. Through the driver every statement is sent unnamed, so the server parses and
/// plans it afresh each time: for the grant read that is two thirds of the server's work
/// (pgbench on this statement: 0.198 ms a run unnamed, 0.062 ms prepared) and a third of a
/// proxied call's latency on PostgreSQL (issue 14). A type, not a value, because PostgresNIO
/// keeps a connection's prepared statements by their type's static name and text.
///
/// The text stays the one `statement` serializes; on SQLite, and for binds other than the
/// plain scalars `PostgresPrepared.bindings(of:)` takes, `rows` is `statement.rows`.
protocol PreparedSQLStatement: Sendable {
    /// Its name on each connection: unique among the vault's prepared statements.
    static var name: String { get }
    static var statement: SerializedStatement { get }
}

extension PreparedSQLStatement {
    /// The statement's rows with `binds`, in order (`SerializedStatement.rows`).
    static func rows(on db: any SQLDatabase, binds: [any Encodable & Sendable], direct: SQLiteDirectReads? = nil) async throws -> [any SQLRow] {
        try await statement.rows(on: db, binds: binds, direct: direct, prepared: PostgresPrepared<Self>.self)
    }
}

/// Runs a prepared statement on one of the driver's PostgreSQL connections.
protocol PostgresPreparedRun {
    /// The rows, or nil when the statement must run through the driver instead (a bind it does
    /// not take). Outside a transaction a failure is not thrown: the connection it happened on is
    /// closed, so the pool opens a fresh one rather than keep a statement PostgreSQL refuses (a
    /// cached plan whose columns a migration changed), and nil sends this run to the driver,
    /// which reports any error as it always does. Inside one the error is the caller's: the
    /// transaction is aborted and a second try could not succeed. A statement that writes is
    /// then run a second time, so it must be one whose repeat is safe (the nonce claim's can
    /// only refuse the request).
    static func rows(on db: any PostgresDatabase, binds: [any Encodable & Sendable], inTransaction: Bool, logger: Logger) async throws -> [any SQLRow]?
}

/// `Key`'s statement as PostgresNIO prepares it: named `Key.name`, with the text `statement`
/// serialized for PostgreSQL (which `SerializedStatement.rows` has made before it runs this).
struct PostgresPrepared<Key: PreparedSQLStatement>: PostgresPreparedStatement, PostgresPreparedRun {
    typealias Row = PostgresRow

    static var name: String { Key.name }
    static var sql: String { Key.statement.text(forDialect: "postgresql") }

    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }

    static func rows(on db: any PostgresDatabase, binds: [any Encodable & Sendable], inTransaction: Bool, logger: Logger) async throws -> [any SQLRow]? {
        guard let bindings = bindings(of: binds) else { return nil }
        let statement = Self(bindings: bindings)
        do {
            let rows = try await db.withConnection { connection in
                connection.eventLoop.makeFutureWithTask {
                    do {
                        var rows: [PostgresRow] = []
                        for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
                        return rows
                    } catch {
                        if !inTransaction { try? await connection.close() }
                        throw error
                    }
                }
            }.get()
            return rows.map(PreparedRow.init)
        } catch where !inTransaction {
            logger.debug("a prepared statement failed; reading through the driver", metadata: ["statement": "\(Key.name)", "type": "\(type(of: error))"])
            return nil
        }
    }

    /// The binds as PostgreSQL types, each the type Fluent's encoder gives the same value (a
    /// parameter's type is fixed when the statement is prepared); nil for any other bind.
    static func bindings(of binds: [any Encodable & Sendable]) -> PostgresBindings? {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case let value as UUID: bindings.append(value)
            case let value as String: bindings.append(value)
            case let value as Date: bindings.append(value)
            case let value as Bool: bindings.append(value)
            case let value as Int: bindings.append(value)
            default: return nil
            }
        }
        return bindings
    }
}

/// A row of a prepared statement. Columns of a type PostgresNIO decodes itself (text, uuid,
/// timestamptz, bool, arrays of those) are decoded by it, without the driver's `Codable`
/// decoder and its containers per column; anything else (a JSON column) goes to the driver's
/// row, which decodes it as a driver-read row would.
private struct PreparedRow: SQLRow {
    let row: PostgresRow
    let columns: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row
        self.columns = row.makeRandomAccess()
    }

    var allColumns: [String] { columns.map(\.columnName) }

    func contains(column: String) -> Bool { columns.contains(column) }

    func decodeNil(column: String) throws -> Bool {
        guard columns.contains(column) else { return true }
        return columns[column].bytes == nil
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        if columns.contains(column), let native = D.self as? any PostgresDecodable.Type,
           let value = try? Self.decode(native, columns[column]) as? D {
            return value
        }
        return try row.sql().decode(column: column, as: D.self)
    }

    private static func decode<T: PostgresDecodable>(_ type: T.Type, _ cell: PostgresCell) throws -> T {
        try cell.decode(T.self)
    }
}
