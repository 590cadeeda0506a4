import FluentKit
import Foundation
import SQLiteNIO

/// Runs a write transaction again when SQLite refused it as busy. Fluent begins SQLite
/// transactions deferred: one that reads first and then writes, while a transaction on the
/// other connection (SQLite has one per event loop) holds the write lock, gets SQLITE_BUSY at
/// once — SQLite calls no busy handler for a read transaction's upgrade, since waiting could
/// deadlock. The refused transaction rolled back whole, so running it again is safe; by then
/// the other has usually committed, and the retry sees what it wrote (two OAuth callbacks of
/// one account finishing together on two event loops made one fail with `internal_error`).
/// PostgreSQL errors pass through untouched.
enum SQLiteBusyRetry {
    static let attempts = 8

    static func run<T: Sendable>(_ work: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await work()
            } catch let error as SQLiteError where isBusy(error) && attempt < attempts {
                // A few milliseconds, growing and jittered, so the retries do not collide again.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(4 << min(attempt, 5)))))
                attempt += 1
            }
        }
    }

    static func isBusy(_ error: SQLiteError) -> Bool {
        switch error.reason {
        case .busy, .busyInSnapshot, .busyInRecovery, .busyTimeout, .locked: true
        default: false
        }
    }
}
