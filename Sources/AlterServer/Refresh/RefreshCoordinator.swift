import Fluent
import FluentKit
import FluentPostgresDriver
import Foundation
import SQLKit
import Vapor

/// Hands out usable access tokens, refreshing them exactly once at a time per grant: within
/// this process through `RefreshGate`, across server instances sharing PostgreSQL through a
/// transaction-scoped advisory lock. Expiry is re-checked after the lock is acquired, so
/// whoever waited uses the token the winner stored.
struct RefreshCoordinator {
    /// Refresh at most this long before the provider's stated expiry…
    static let skew: TimeInterval = 60
    /// …and, for short-lived tokens, when this fraction of the lifetime is left: a provider
    /// issuing 30 s tokens would otherwise be refreshed on every call.
    static let skewFraction = 0.2
    /// After a refresh, a provider's 401 does not trigger another one for this long: an API
    /// that answers 401 for its own reasons (a missing scope, a wrong resource) would
    /// otherwise cost one refresh per call (security review F3).
    static let rejectionRefreshInterval: TimeInterval = 60

    let application: Application
    let db: any Database
    let who: AuditContext

    struct AuditContext: Sendable {
        var appID: UUID
        var caller: String?
        var agent: String?
    }

    fileprivate enum Outcome {
        case fresh
        /// `answerLost`: the refresh token was refused after an earlier refresh's answer was
        /// lost (`RefreshJournal`), so the provider most likely rotated it then.
        case revoked(answerLost: Bool)
        case transient(String)
    }

    /// How early before expiry this grant's token is refreshed: `skew`, or `skewFraction` of
    /// the token's lifetime when that is shorter (grants stored before lifetimes were kept
    /// get `skew`).
    static func margin(_ grant: GrantRecord) -> TimeInterval {
        guard let expiresAt = grant.expiresAt, let stored = grant.tokensStoredAt else { return skew }
        return min(skew, max(0, expiresAt.timeIntervalSince(stored)) * skewFraction)
    }

    static func needsRefresh(_ grant: GrantRecord, now: Date) -> Bool {
        guard let expiresAt = grant.expiresAt else { return false }
        return expiresAt.timeIntervalSince(now) <= margin(grant)
    }

    /// False within `rejectionRefreshInterval` of the last refresh.
    static func mayRefreshAfterRejection(_ grant: GrantRecord, now: Date) -> Bool {
        guard let refreshed = grant.refreshedAt else { return true }
        return now.timeIntervalSince(refreshed) >= rejectionRefreshInterval
    }

    /// The grant's access token, refreshed first when near expiry, or when `rejected` is the
    /// token the provider just answered 401 to (refresh once, unless another caller already did).
    /// - Throws: `credential_revoked` (the refresh token is dead), `refresh_failed` (retryable).
    func accessToken(for grant: GrantRecord, rejected: String? = nil) async throws -> (token: String, grant: GrantRecord) {
        let sealer = application.sealer
        let now = application.clock.now()
        guard grant.status == .active else { throw Self.revoked(grant.id) }
        if rejected == nil ? !Self.needsRefresh(grant, now: now) : !Self.mayRefreshAfterRejection(grant, now: now) {
            return (try grant.accessToken(using: sealer), grant)
        }
        let provider = try await application.providerCatalog.provider(of: grant, on: db)
        guard grant.sealedRefreshToken != nil, provider?.refresh != false else {
            // Nothing to refresh with: use what we have and let the provider decide.
            return (try grant.accessToken(using: sealer), grant)
        }
        let grantID = grant.id
        let outcome = OutcomeBox()
        do {
            try await application.refreshGate.run(grantID, waitLimit: application.alterConfiguration.refreshWaitLimit) {
                outcome.value = try await self.refreshUnderLock(grantID, rejected: rejected)
            }
        } catch is RefreshGate.StillRefreshing {
            throw Self.inProgress(grantID)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55P03" {
            // lock_timeout: another instance holds this grant's refresh lock.
            throw Self.inProgress(grantID)
        }
        guard let current = try await Grant.read(id: grantID, appID: grant.appID, on: db) else { throw Self.revoked(grantID) }
        switch outcome.value {
        case .revoked(let answerLost)?: throw Self.revoked(grantID, answerLost: answerLost)
        case .transient(let reason)?:
            throw APIError(
                .refreshFailed, "The provider could not refresh the token (\(reason)); the grant is unchanged, try again.",
                details: ["grant_id": grantID.lowercasedString, "provider_error": reason])
        case .fresh?, nil:
            // nil: another caller in this process ran the refresh; its result is in the row.
            guard current.status == .active else { throw Self.revoked(grantID) }
            return (try current.accessToken(using: sealer), current)
        }
    }

    /// Settles a refresh of `grantID` whose answer was lost (`RefreshJournal`): refreshes now
    /// with the stored refresh token. It still works where the provider never saw the lost
    /// call or does not rotate, and the grant goes on; the provider refuses it where it
    /// rotated, and the grant is marked as needing the user again. Skips the grant, returning
    /// false, while another refresh of it runs here or on another instance (that one is not lost).
    static func settleLostRefresh(_ grantID: UUID, application: Application) async throws -> Bool {
        guard let grant = try await Grant.find(grantID, on: application.db) else { return true }
        let coordinator = RefreshCoordinator(application: application, db: application.db, who: AuditContext(appID: grant.$app.id, caller: "vault"))
        do {
            try await application.refreshGate.run(grantID, waitLimit: 0) {
                _ = try await coordinator.refreshUnderLock(grantID, rejected: nil, lostOnly: true, lockWait: 0)
            }
            return true
        } catch is RefreshGate.StillRefreshing {
            return false
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55P03" {
            return false
        }
    }

    /// - Parameters:
    ///   - lostOnly: refresh only if the journal still holds a lost refresh of the grant.
    ///   - lockWait: how long to wait for another instance's refresh (default: the configured limit).
    private func refreshUnderLock(_ grantID: UUID, rejected: String?, lostOnly: Bool = false, lockWait: TimeInterval? = nil) async throws -> Outcome {
        let sealer = application.sealer
        let catalog = application.providerCatalog
        let client = application.oauthClient
        let isPostgres: Bool = if case .postgres = application.alterConfiguration.database { true } else { false }
        return try await withCrossInstanceLock(grantID, isPostgres: isPostgres, wait: lockWait ?? application.alterConfiguration.refreshWaitLimit) { tx -> Outcome in
            let now = application.clock.now()
            // Under the lock nobody else refreshes this grant, so an open journal entry is a
            // refresh that died or timed out with its answer unknown.
            let answerLost = try await RefreshJournal.isOpen(grantID, on: tx)
            if lostOnly, !answerLost { return .fresh }
            guard let grant = try await Grant.find(grantID, on: tx), grant.status == .active else {
                if answerLost { try await RefreshJournal.settle(grantID, on: tx) }
                return .revoked(answerLost: false)
            }
            // A provider or its settings gone missing is the operator's to fix, not the user's.
            guard let provider = try await catalog.provider(grant.provider, forApp: grant.$app.id, on: tx),
                let config = try await ProviderConfig.query(on: tx).filter(\.$app.$id == grant.$app.id)
                    .filter(\.$provider == grant.provider).first()
            else { return .transient("provider_not_configured") }
            // Re-check now that we hold the lock: someone may have refreshed meanwhile.
            let current = try grant.accessToken(using: sealer)
            if !lostOnly {
                let times = try GrantRecord(grant)
                if let rejected, current != rejected || !Self.mayRefreshAfterRejection(times, now: now) { return .fresh }
                if rejected == nil, !Self.needsRefresh(times, now: now) { return .fresh }
            }
            guard let refreshToken = try grant.refreshToken(using: sealer) else {
                if answerLost { try await RefreshJournal.settle(grantID, on: tx) }
                return .fresh
            }

            let audit: @Sendable (Int, any Database) async throws -> Void = { status, db in
                try await AuditLog.insert([AuditEntry(
                    appID: who.appID, grantID: grantID, action: .refresh, caller: who.caller, agent: who.agent,
                    host: URL(string: provider.tokenURL)?.host, status: status, at: now
                )], on: db)
            }
            // Committed (outside any transaction) before the provider can rotate anything.
            try await RefreshJournal.begin(grantID, at: now, on: tx)
            do {
                let tokens = try await client.refresh(refreshToken, provider: provider, config: config, clientSecret: try config.clientSecret(using: sealer))
                // The new tokens, the audit entry (and nothing else) commit together.
                return try await tx.transaction { tx in
                    try grant.store(tokens, using: sealer, at: now)
                    grant.refreshedAt = now
                    if let scopes = tokens.scopes { grant.scopes = scopes }
                    // A refresh may move the API host (Salesforce instance_url); keep the rest.
                    if !tokens.variables.isEmpty { grant.variables = (grant.variables ?? [:]).merging(tokens.variables) { $1 } }
                    try await grant.save(on: tx)
                    try await RefreshJournal.settle(grantID, on: tx)
                    try await audit(200, tx)
                    AlterMetrics.refresh(.ok)
                    return .fresh
                }
            } catch let error as ProviderError where !error.rejectsRefreshToken {
                // Outages, throttling, malformed or oversize answers, redirects, 401/404, a
                // refused client secret: none of them says the user's authorization is gone,
                // so the grant stays exactly as it was and the caller may retry.
                if error.rejectsClient {
                    application.logger.error(
                        "the provider refused this app's client credentials on refresh; check the provider config",
                        metadata: ["provider": .string(grant.provider), "error": .string(error.error)])
                }
                // The provider answered without issuing tokens: nothing was rotated. With no
                // usable answer (timeout, cut connection, garbled 200) the entry stays open.
                if !error.answerMayBeLost { try await RefreshJournal.settle(grantID, on: tx) }
                try await audit(503, tx)
                AlterMetrics.refresh(.failed)
                return .transient(error.error)
            } catch let error as ProviderError {
                // invalid_grant for the refresh token we just used (we read it under the lock,
                // so no other worker rotated it meanwhile): the grant needs the user again.
                AlterMetrics.refresh(.revoked)
                application.logger.notice(
                    answerLost ? "refresh refused after an earlier refresh's answer was lost; the grant needs the user to connect again" : "refresh refused",
                    metadata: ["provider": .string(grant.provider), "error": .string(error.error)])
                return try await tx.transaction { tx in
                    grant.status = .error
                    try await grant.save(on: tx)
                    try await RefreshJournal.settle(grantID, on: tx)
                    try await audit(409, tx)
                    try await GrantEvents.enqueue(.grantRefreshFailed, grant: grant, catalog: catalog, at: now, on: tx)
                    return .revoked(answerLost: answerLost)
                }
            }
        }
    }

    /// PostgreSQL: one connection holding the session-level `pg_advisory_lock` for the whole
    /// refresh, so instances sharing the database refresh one at a time; a process that dies
    /// loses its session and with it the lock. Not a transaction: `body` commits the journal
    /// entry on this same connection before the provider call (a second connection per
    /// refresh could deadlock a pool full of refreshes) and stores tokens in a transaction of
    /// its own. SQLite serves one instance, whose `RefreshGate` already serialises; no
    /// transaction is held across the provider call there, because SQLite's few connections
    /// would otherwise wait on it (the sandbox shares them).
    private func withCrossInstanceLock(
        _ grantID: UUID, isPostgres: Bool, wait: TimeInterval, _ body: @escaping @Sendable (any Database) async throws -> Outcome
    ) async throws -> Outcome {
        guard isPostgres else { return try await body(db) }
        let key = Self.lockKey(grantID)
        return try await db.withConnection { connection in
            connection.eventLoop.makeFutureWithTask {
                guard let sql = connection as? any SQLDatabase else { return try await body(connection) }
                // Wait for another instance's refresh at most as long as for one in this process
                // (lock_timeout 0 would mean forever: 1 ms is "do not wait").
                let milliseconds = max(1, Int(wait * 1000))
                try await sql.raw("SET lock_timeout = \(unsafeRaw: String(milliseconds))").run()
                do {
                    try await sql.raw("SELECT pg_advisory_lock(\(bind: key))").run()
                } catch {
                    try? await sql.raw("SET lock_timeout = 0").run()
                    throw error
                }
                do {
                    try await sql.raw("SET lock_timeout = 0").run()
                    let outcome = try await body(connection)
                    try await sql.raw("SELECT pg_advisory_unlock(\(bind: key))").run()
                    return outcome
                } catch {
                    // The connection goes back to the pool: it must not keep the lock.
                    try? await sql.raw("SELECT pg_advisory_unlock(\(bind: key))").run()
                    throw error
                }
            }
        }.get()
    }

    static func inProgress(_ grantID: UUID) -> APIError {
        APIError(
            .tokenRefreshInProgress, "Another request is refreshing this grant's token; try again in a moment.",
            details: ["grant_id": grantID.lowercasedString])
    }

    static func revoked(_ grantID: UUID, answerLost: Bool = false) -> APIError {
        var details = ["grant_id": grantID.lowercasedString]
        if answerLost { details["reason"] = "refresh_answer_lost" }
        return APIError(
            .credentialRevoked,
            answerLost
                ? "The provider replaced this grant's refresh token during a refresh whose answer was lost; ask the user to connect again."
                : "The provider no longer accepts this grant; ask the user to connect again.",
            details: details)
    }

    /// A stable 64-bit key for `pg_advisory_xact_lock`, from the grant id.
    static func lockKey(_ id: UUID) -> Int64 {
        let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
        return bytes.prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }
}

extension ProviderError {
    /// The token request may have reached the provider and been answered, with the answer
    /// lost on the way: a timeout, a cut connection, an answer too large or not readable as
    /// tokens. An error answer (any non-2xx status with its code) issued nothing.
    var answerMayBeLost: Bool { ["timeout", "unreachable", "response_too_large", "invalid_token_response"].contains(error) }
}

/// Carries the outcome out of the gate's closure (only the task that ran it writes it).
private final class OutcomeBox: @unchecked Sendable {
    var value: RefreshCoordinator.Outcome?
}
