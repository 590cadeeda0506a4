import FluentKit
import Foundation
import SQLiteNIO

/// The one way the vault runs a transaction that writes: the outermost call retries the whole
/// transaction when the database refused it for a reason a rerun resolves, and a call nested
/// in another's transaction runs its body as part of that one and leaves the retries to it.
///
/// Why a rerun, and why only at the outermost level:
/// - SQLite: Fluent begins transactions deferred. One that reads first and then writes, while
///   a transaction on the other connection (one per event loop) holds the write lock, gets
///   SQLITE_BUSY at once; SQLite calls no busy handler for a read transaction's upgrade, since
///   waiting could deadlock. Retrying the statement inside that transaction fails the same way:
///   only a rollback and a new transaction see the other's commit.
/// - A unique constraint broken by a simultaneous insert (two callbacks of one account
///   completing together): on PostgreSQL the failed statement aborts the transaction, so an
///   inner retry fails as "transaction aborted"; the rerun reads the row the other committed.
///   Bodies that race an insert this way read before they insert, so a rerun takes the update
///   path; a constraint broken for another reason fails again and its error passes through.
///
/// The body may run more than once: it must do nothing outside the database that a rerun
/// would repeat, and take every decision from what it reads in the transaction.
enum WriteTransaction {
    /// SQLite busy refusals: enough reruns to outlast a few simultaneous writers.
    static let attempts = 8
    /// A constraint failure is rerun once: the second run sees the winning row.
    static let constraintReruns = 1

    static func run<T: Sendable>(on db: any Database, _ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        if db.inTransaction { return try await body(db) }
        var attempt = 1
        var constraintReruns = 0
        while true {
            do {
                return try await db.transaction(body)
            } catch let error as SQLiteError where isBusy(error) && attempt < attempts {
                // A few milliseconds, growing and jittered, so the reruns do not collide again.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(4 << min(attempt, 5)))))
            } catch let error as any DatabaseError where error.isConstraintFailure && constraintReruns < Self.constraintReruns {
                constraintReruns += 1
            }
            attempt += 1
        }
    }

    static func isBusy(_ error: SQLiteError) -> Bool {
        switch error.reason {
        case .busy, .busyInSnapshot, .busyInRecovery, .busyTimeout, .locked: true
        default: false
        }
    }
}
