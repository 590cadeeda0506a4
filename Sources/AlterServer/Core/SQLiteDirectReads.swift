import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import SQLiteKit
import SQLiteNIO
import VaporCSQLite

/// Reads of the hot path on embedded SQLite, run on the calling thread instead of the
/// driver's blocking pool. Every proxied call reads its grant; through the driver that read
/// is a hop to a pool thread, a hop back for each row and for the answer, and a fresh parse
/// of the statement: about a quarter of a call's CPU (issue 14). A read by primary key on a
/// WAL database takes microseconds and never waits for a writer, so it runs here, on a
/// read-only connection of the same SQLite library the driver uses (two copies of SQLite in
/// one process would break each other's file locks), with each statement prepared once.
///
/// Only for reads that may see the last committed state: a caller inside a transaction must
/// read through the transaction. `rows` answers nil, and the caller reads through the driver,
/// when it cannot read here now: every connection in use, SQLite busy (WAL recovery), or any
/// error, which the driver then reports as it always does.
final class SQLiteDirectReads: Sendable {
    /// Connections kept at most; one per caller reading at the same moment.
    static let maxConnections = 8

    private let path: String
    private let pool = NIOLockedValueBox<(idle: [Connection], opened: Int, closed: Bool)>(([], 0, false))
    private let encoder = SQLiteDataEncoder()
    private let decoder = SQLiteDataDecoder()

    /// Nil for an in-memory database: another connection would open another, empty database.
    init?(path: String) {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return nil }
        self.path = path
    }

    /// The rows of `sql` (SQLite's dialect, `?` placeholders) with `binds`, encoded as the
    /// driver encodes them; nil when the read must go through the driver instead.
    func rows(_ sql: String, binds: [any Encodable & Sendable]) -> [any SQLRow]? {
        guard let encoded = try? binds.map({ try encode($0) }), let connection = take() else { return nil }
        let rows = connection.rows(sql, binds: encoded, decoder: decoder)
        give(back: connection, healthy: rows != nil)
        return rows
    }

    /// A bind as the driver's encoder encodes it; a UUID as `text(of:)`.
    func encode(_ bind: any Encodable & Sendable) throws -> SQLiteData {
        if let id = bind as? UUID { return .text(Self.text(of: id)) }
        return try encoder.encode(bind)
    }

    /// The text SQLite's driver stores for a UUID: its upper-case `Codable` form, which the
    /// driver's encoder writes, made here without Foundation's `snprintf` (issue 14).
    static func text(of id: UUID) -> String { id.uppercasedString }

    /// Closes every idle connection; one in use closes when it comes back.
    func shutdown() {
        let idle = pool.withLockedValue { state -> [Connection] in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for connection in idle { connection.close() }
    }

    private func take() -> Connection? {
        enum Next { case use(Connection), open, none }
        let next: Next = pool.withLockedValue { state in
            if state.closed { return .none }
            if let connection = state.idle.popLast() { return .use(connection) }
            guard state.opened < Self.maxConnections else { return .none }
            state.opened += 1
            return .open
        }
        switch next {
        case .use(let connection): return connection
        case .none: return nil
        case .open:
            if let connection = Connection(path: path) { return connection }
            pool.withLockedValue { $0.opened -= 1 }
            return nil
        }
    }

    private func give(back connection: Connection, healthy: Bool) {
        // A connection whose read failed is closed rather than kept: whatever went wrong stays
        // with it, and the next read opens a fresh one.
        let keep = pool.withLockedValue { state -> Bool in
            guard healthy, !state.closed else {
                state.opened -= 1
                return false
            }
            state.idle.append(connection)
            return true
        }
        if !keep { connection.close() }
    }

    /// One read-only SQLite connection and its prepared statements. Used by one caller at a
    /// time (the pool hands it out), so it opens without SQLite's own mutex.
    private final class Connection: @unchecked Sendable {
        private var handle: OpaquePointer?
        private var statements: [String: (statement: OpaquePointer, columns: Columns)] = [:]

        init?(path: String) {
            var handle: OpaquePointer?
            let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
            guard sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK, let handle else {
                if let handle { sqlite_nio_sqlite3_close_v2(handle) }
                return nil
            }
            self.handle = handle
        }

        func rows(_ sql: String, binds: [SQLiteData], decoder: SQLiteDataDecoder) -> [any SQLRow]? {
            guard let (statement, columns) = statement(sql) else { return nil }
            defer {
                sqlite_nio_sqlite3_reset(statement)
                sqlite_nio_sqlite3_clear_bindings(statement)
            }
            for (index, value) in binds.enumerated() {
                guard bind(value, at: Int32(index + 1), in: statement) == SQLITE_OK else { return nil }
            }
            var rows: [any SQLRow] = []
            while true {
                switch sqlite_nio_sqlite3_step(statement) {
                case SQLITE_ROW:
                    var values: [SQLiteData] = []
                    values.reserveCapacity(columns.names.count)
                    for index in columns.names.indices {
                        guard let value = Self.value(at: Int32(index), of: statement) else { return nil }
                        values.append(value)
                    }
                    rows.append(DirectRow(columns: columns, values: values, decoder: decoder))
                case SQLITE_DONE:
                    return rows
                default:
                    return nil
                }
            }
        }

        func close() {
            for (statement, _) in statements.values { sqlite_nio_sqlite3_finalize(statement) }
            statements = [:]
            if let handle { sqlite_nio_sqlite3_close_v2(handle) }
            handle = nil
        }

        deinit { close() }

        /// The prepared statement and its result columns (named once, not on every read).
        private func statement(_ sql: String) -> (OpaquePointer, Columns)? {
            if let known = statements[sql] { return known }
            var statement: OpaquePointer?
            // The legacy prepare, on purpose: a statement from prepare_v2/v3 whose plan looked at
            // a bound value (the grant read's did) is marked expired by every new bind and parsed
            // again on its next step (5% of the vault's CPU in a profile). This one
            // keeps a plan that holds for any value; after a schema change its step fails, the
            // read falls back to the driver and the connection is replaced.
            guard sqlite_nio_sqlite3_prepare(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else { return nil }
            var names: [String] = []
            for index in 0..<sqlite_nio_sqlite3_column_count(statement) {
                guard let name = sqlite_nio_sqlite3_column_name(statement, index) else {
                    sqlite_nio_sqlite3_finalize(statement)
                    return nil
                }
                names.append(String(cString: name))
            }
            let columns = Columns(names: names)
            statements[sql] = (statement, columns)
            return (statement, columns)
        }

        private func bind(_ value: SQLiteData, at index: Int32, in statement: OpaquePointer) -> Int32 {
            switch value {
            case .blob(let bytes):
                bytes.withUnsafeReadableBytes { sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), Self.transient) }
            case .float(let number): sqlite_nio_sqlite3_bind_double(statement, index, number)
            case .integer(let number): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(number))
            case .null: sqlite_nio_sqlite3_bind_null(statement, index)
            case .text(let text): sqlite_nio_sqlite3_bind_text64(statement, index, text, UInt64(text.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
            }
        }

        /// A column's value as the driver reads it (`SQLiteData`), so decoding is the driver's.
        private static func value(at index: Int32, of statement: OpaquePointer) -> SQLiteData? {
            switch sqlite_nio_sqlite3_column_type(statement, index) {
            case SQLITE_INTEGER: return .integer(.init(sqlite_nio_sqlite3_column_int64(statement, index)))
            case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(statement, index))
            case SQLITE_TEXT:
                guard let text = sqlite_nio_sqlite3_column_text(statement, index) else { return nil }
                return .text(String(cString: text))
            case SQLITE_BLOB:
                let length = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
                var buffer = ByteBufferAllocator().buffer(capacity: length)
                if let bytes = sqlite_nio_sqlite3_column_blob(statement, index) { buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: length)) }
                return .blob(buffer)
            case SQLITE_NULL: return .null
            default: return nil
            }
        }

        /// SQLite copies the bound bytes (SQLITE_TRANSIENT).
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    }

    /// A statement's result columns, shared by its rows: the grant read asks for 21 columns by
    /// name, which a linear search over the names made ~200 string comparisons per read.
    private final class Columns: Sendable {
        let names: [String]
        let index: [String: Int]

        init(names: [String]) {
            self.names = names
            // The first of a repeated name, as a search would find it.
            self.index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// A row read here, decoded with the driver's decoder.
    private struct DirectRow: SQLRow {
        let columns: Columns
        let values: [SQLiteData]
        let decoder: SQLiteDataDecoder

        var allColumns: [String] { columns.names }

        func contains(column: String) -> Bool { columns.index[column] != nil }

        func decodeNil(column: String) throws -> Bool {
            guard let index = columns.index[column] else { return true }
            return values[index] == .null
        }

        func decode<D: Decodable>(column: String, as: D.Type) throws -> D {
            guard let index = columns.index[column] else { throw MissingColumn(column: column) }
            // A UUID's text parsed without Foundation's `sscanf`; anything else (a blob, a
            // malformed text) goes to the decoder, which reports it as it always does.
            if D.self == UUID.self, case .text(let text) = values[index], let id = UUID(text: text) { return id as! D }
            return try decoder.decode(D.self, from: values[index])
        }
    }

    struct MissingColumn: Error {
        let column: String
    }
}
