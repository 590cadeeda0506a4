import Fluent
import FluentKit
import Foundation
import SQLKit
import Vapor

/// How readers tell a callback that is still working from one whose server died (issue 14,
/// crash test (a)): a callback that consumed an attempt's `state` holds a lease on it,
/// `lease_until`, renewed while it talks to the provider. An attempt consumed, not finished,
/// whose lease lapsed was interrupted (the server was killed, lost power, or hung): readers
/// end it within `duration` instead of reporting it in progress for the attempt's 10 minutes.
///
/// Why a lease and not "fail my attempts when I restart": several instances share one
/// PostgreSQL, and an instance may never come back. A lease needs no instance identity; a
/// live instance keeps its own attempts alive, whoever restarts. And why the end is one
/// transaction (`end`): the grant, the session's completion and the attempt's end commit
/// together, so a crash leaves either all of them or none; a grant can never be committed
/// without reaching the session's result. A live callback whose lease lapsed anyway (a stall
/// longer than `duration`) finds the attempt already ended, stores nothing, and shows the
/// ending the reader recorded: both sides claim the attempt's end with one conditional UPDATE.
enum AttemptLease {
    /// How long a callback's claim on its attempt lasts without renewal.
    static let duration: TimeInterval = 6
    /// How often a working callback renews it: a third of `duration`, so two renewals may be
    /// late before a reader counts the attempt as interrupted.
    static let renewal: Duration = .seconds(2)

    /// The error an interrupted attempt ends a one-provider session with (a server failure, as F11).
    static let interrupted = APIError(
        .internalError, "The sign-in was interrupted because the server stopped. Close this window and try again.",
        details: ["reason": "interrupted"])

    /// Runs `work` (the callback's talk with the provider and its ending) while a child task
    /// renews the lease on `attempt`. Scoped, not a free-standing task: the renewal ends before
    /// this returns, so it never outlives the request or writes to a database that shut down.
    /// It renews on the request's database (`db`): on SQLite that is the request's event
    /// loop's one connection, so a renewal waits in the pool while this callback's own
    /// transaction holds it, rather than in SQLite's busy handler on a blocking-pool thread.
    static func holding<T: Sendable>(_ attempt: OAuthAttempt, clock: VaultClock, on db: any Database, _ work: () async throws -> T) async throws -> T {
        let id = try attempt.requireID()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: renewal)
                    if Task.isCancelled { return }
                    let until = clock.now().addingTimeInterval(duration)
                    _ = try? await ClaimOnce.claim(OAuthAttempt.schema, id: id, on: db) {
                        $0.set("lease_until", to: until).where("finished_at", .is, SQLLiteral.null)
                    }
                }
            }
            defer { group.cancelAll() }
            return try await work()
        }
    }

    /// Ends `attempt` and applies its outcome (`body`, on the transaction's database) in one
    /// transaction. Returns false, with nothing applied, when the attempt had already ended
    /// (a reader found its lease lapsed).
    static func end(_ attempt: OAuthAttempt, at now: Date, on db: any Database, _ body: @escaping @Sendable (any Database) async throws -> Void) async throws -> Bool {
        let id = try attempt.requireID()
        // The outermost transaction: a simultaneous completion of the same account that
        // inserted its grant first, or held SQLite's write lock, makes the whole end run again
        // (GrantWriter, inside it, then updates that grant).
        return try await WriteTransaction.run(on: db) { db in
            guard try await ClaimOnce.claim(OAuthAttempt.schema, id: id, on: db, { $0.set("finished_at", to: now).where("finished_at", .is, SQLLiteral.null) }) else {
                return false
            }
            try await body(db)
            return true
        }
    }

    /// Ends the session's interrupted attempts: consumed, not finished, lease lapsed. A
    /// one-provider session then fails (the widget gets `onError`); a session with several
    /// providers stays open (F20: the person may pick again or finish with what is connected).
    static func settle(_ session: ConnectSession, at now: Date, on db: any Database) async throws {
        guard session.status == .pending else { return }
        let lapsed = try await OAuthAttempt.query(on: db).filter(\.$session.$id == session.requireID())
            .filter(\.$consumedAt != nil).filter(\.$finishedAt == nil).filter(\.$leaseUntil < now).all()
        for attempt in lapsed {
            let id = try attempt.requireID()
            _ = try await WriteTransaction.run(on: db) { db in
                let ended = try await ClaimOnce.claim(OAuthAttempt.schema, id: id, on: db) {
                    $0.set("finished_at", to: now).where("finished_at", .is, SQLLiteral.null).where("lease_until", .lessThan, now)
                }
                if ended, session.allowedProviders.count == 1 {
                    _ = try await SessionStore(db: db).fail(session, interrupted, at: now)
                }
            }
        }
    }
}
