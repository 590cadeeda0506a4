import FluentKit
import Foundation
import SQLKit

/// Every transition of a Connect session, each one conditional `UPDATE` (`ClaimOnce`) that
/// applies only while the session is still pending: two callbacks, a callback and Done, or
/// a callback racing an expiry cannot overwrite each other's ending. Each returns whether it
/// won; the model passed in is brought up to date either way.
struct SessionStore {
    let db: any Database

    /// First load of `connect_url`: binds the browser, once, while the token is fresh.
    func consume(_ session: ConnectSession, browserHash: String, nonce: String?, mode: ConnectSession.Mode, at now: Date) async throws -> Bool {
        let won = try await ClaimOnce.claim(ConnectSession.schema, id: session.requireID(), on: db) {
            $0.set("consumed_at", to: now).set("browser_hash", to: browserHash).set("nonce", to: nonce).set("mode", to: mode.rawValue)
                .where("consumed_at", .is, SQLLiteral.null).where("expires_at", .greaterThan, now)
                .where("status", .equal, SQLLiteral.string(ConnectSession.Status.pending.rawValue))
        }
        try await refresh(session)
        return won
    }

    func complete(_ session: ConnectSession, at now: Date) async throws -> Bool {
        try await finish(session, as: .completed, error: nil, at: now)
    }

    func fail(_ session: ConnectSession, _ error: APIError, at now: Date) async throws -> Bool {
        try await finish(session, as: .failed, error: error, at: now)
    }

    /// Ends a session whose time ran out (see `ConnectSession.State.expired`); does nothing
    /// to one that is still in time.
    func expireIfDue(_ session: ConnectSession, at now: Date) async throws {
        guard session.status == .pending, session.state(at: now) == .expired else { return }
        _ = try await fail(session, ConnectSession.expiredError, at: now)
    }

    private func finish(_ session: ConnectSession, as status: ConnectSession.Status, error: APIError?, at now: Date) async throws -> Bool {
        let won = try await ClaimOnce.claim(ConnectSession.schema, id: session.requireID(), on: db) {
            $0.set("status", to: SQLLiteral.string(status.rawValue)).set("finished_at", to: now)
                .set("error_code", to: error?.code.rawValue).set("error_message", to: error?.message)
                .set("error_details", to: error?.details)
                .where("status", .equal, SQLLiteral.string(ConnectSession.Status.pending.rawValue))
        }
        if won { AlterMetrics.sessionFinished(status == .completed ? .completed : error?.code == .sessionExpired ? .expired : .failed) }
        try await refresh(session)
        return won
    }

    /// Re-reads the row, so a caller that lost a race sees the winner's ending.
    private func refresh(_ session: ConnectSession) async throws {
        guard let row = try await ConnectSession.find(session.requireID(), on: db) else { return }
        session.status = row.status
        session.consumedAt = row.consumedAt
        session.browserHash = row.browserHash
        session.nonce = row.nonce
        session.mode = row.mode
        session.errorCode = row.errorCode
        session.errorMessage = row.errorMessage
        session.errorDetails = row.errorDetails
        session.finishedAt = row.finishedAt
    }
}
