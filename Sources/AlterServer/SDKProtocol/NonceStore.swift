import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Remembers the nonces of signed requests for as long as their timestamp is acceptable,
/// so a captured request cannot be replayed. `claim` is the only operation: it records the
/// nonce and says whether it was new, atomically.
protocol NonceStore: Sendable {
    /// - Returns: false when this key already used `nonce` (a replay).
    func claim(_ nonce: String, keyID: UUID, until expiry: Date, now: Date, on db: any Database) async throws -> Bool
}

/// SQLite serves one instance, so the nonces of the last `RequestSignature.allowedSkew`
/// seconds live in memory there.
final class MemoryNonceStore: NonceStore {
    private struct State {
        var expiries: [String: Date] = [:]
        var claimsSincePrune = 0
    }
    private let state = NIOLockedValueBox(State())

    func claim(_ nonce: String, keyID: UUID, until expiry: Date, now: Date, on db: any Database) async throws -> Bool {
        state.withLockedValue { state in
            state.claimsSincePrune += 1
            if state.claimsSincePrune >= 1024 {
                state.expiries = state.expiries.filter { $0.value >= now }
                state.claimsSincePrune = 0
            }
            let key = keyID.uuidString + ":" + nonce
            if let seen = state.expiries[key], seen >= now { return false }
            state.expiries[key] = expiry
            return true
        }
    }
}

/// PostgreSQL: one table every instance sharing the database sees, so a nonce replayed to
/// another instance is refused too. The table is UNLOGGED: its inserts write no WAL, so a
/// claim costs no fsync (after a crash the table is empty, which only matters for nonces of
/// the last five minutes of a crashed cluster). Expired rows are deleted once a minute.
final class PostgresNonceStore: NonceStore {
    static let table = "sdk_request_nonces"
    private static let pruneInterval: TimeInterval = 60
    private let lastPrune = NIOLockedValueBox(Date.distantPast)

    func claim(_ nonce: String, keyID: UUID, until expiry: Date, now: Date, on db: any Database) async throws -> Bool {
        guard let sql = db as? any SQLDatabase else { throw ConfigurationError("the nonce store needs a SQL database") }
        let key = keyID.uuidString + ":" + nonce
        let rows = try await ClaimStatement.rows(on: sql, binds: [key, expiry, now])
        let prune = lastPrune.withLockedValue { last -> Bool in
            guard now.timeIntervalSince(last) >= Self.pruneInterval else { return false }
            last = now
            return true
        }
        if prune { try await sql.raw("DELETE FROM \(unsafeRaw: Self.table) WHERE expires_at < \(bind: now)").run() }
        return !rows.isEmpty
    }

    /// Records a nonce unless a live row has it; an expired row with the same value is taken
    /// over (its request can no longer verify). Prepared: every signed request runs it.
    private enum ClaimStatement: PreparedSQLStatement {
        static let name = "alter_nonce_claim"
        static let statement = SerializedStatement { _ in
            SQLQueryString("""
                INSERT INTO \(unsafeRaw: PostgresNonceStore.table) (nonce, expires_at) VALUES (\(bind: ""), \(bind: Date()))
                ON CONFLICT (nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE \(unsafeRaw: PostgresNonceStore.table).expires_at < \(bind: Date())
                RETURNING 1 AS claimed
                """)
        }
    }

    /// Creates the table on PostgreSQL; nothing on SQLite (whose nonces live in memory).
    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            guard let sql = database as? any SQLDatabase, sql.dialect.name == "postgresql" else { return }
            try await sql.raw("""
                CREATE UNLOGGED TABLE \(unsafeRaw: PostgresNonceStore.table) (nonce text PRIMARY KEY, expires_at timestamptz NOT NULL)
                """).run()
        }

        func revert(on database: any Database) async throws {
            guard let sql = database as? any SQLDatabase, sql.dialect.name == "postgresql" else { return }
            try await sql.raw("DROP TABLE IF EXISTS \(unsafeRaw: PostgresNonceStore.table)").run()
        }
    }
}

extension Application {
    private enum NonceStoreKey: StorageKey { typealias Value = any NonceStore }

    /// Where signed requests' nonces are claimed (set by `configure(_:with:)`).
    var nonceStore: any NonceStore {
        get { requiredService(NonceStoreKey.self) }
        set { storage[NonceStoreKey.self] = newValue }
    }
}
