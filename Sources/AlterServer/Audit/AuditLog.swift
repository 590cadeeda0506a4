import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Writes proxy audit entries in small batches: the first entry starts a short timer, and
/// everything recorded meanwhile is inserted in one statement. With SQLite's
/// `synchronous=FULL` a commit costs an fsync; one per batch instead of one per proxied
/// call keeps the proxy's added latency small. At most `delay` of entries can be lost in a
/// crash; reads of the audit log flush first, and so does shutdown.
///
/// On the hot path (issue 14): `record` takes a lock instead of hopping onto an actor, an entry
/// is a plain struct (`AuditEntry`), and the insert is one SQLKit statement with the same binds
/// Fluent would make, without FluentKit's reflection walk over every entry's properties.
/// Entries written inside a caller's transaction (a refresh, a revocation) go through the same
/// `insert`.
final class AuditLog: Sendable {
    private struct State {
        var pending: [AuditEntry] = []
        var timerRunning = false
        /// When the oldest pending entry was recorded (the flush-lag metric).
        var oldestPending: ContinuousClock.Instant?
        /// The newest write; each write waits for the one before it.
        var lastWrite: Task<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())
    private let database: @Sendable () -> (any Database)?
    private let logger: Logger
    let delay: Duration

    init(delay: Duration = .milliseconds(20), logger: Logger, database: @escaping @Sendable () -> (any Database)?) {
        self.delay = delay
        self.logger = logger
        self.database = database
    }

    func record(_ event: AuditEntry) {
        let startTimer = state.withLockedValue { state in
            if state.pending.isEmpty { state.oldestPending = .now }
            state.pending.append(event)
            defer { state.timerRunning = true }
            return !state.timerRunning
        }
        if startTimer {
            Task { [delay] in
                try? await Task.sleep(for: delay)
                await self.flush()
            }
        }
    }

    /// Writes what is pending, and returns once every entry recorded before the call is
    /// committed: also those a timer's flush took a moment earlier and is still inserting
    /// (a reader that found nothing pending would otherwise read before that insert commits).
    func flush() async {
        let write = state.withLockedValue { state -> Task<Void, Never> in
            let (batch, oldest, previous) = (state.pending, state.oldestPending ?? .now, state.lastWrite)
            state.pending = []
            state.oldestPending = nil
            state.timerRunning = false
            let write = Task { [database, logger] in
                await previous?.value
                guard !batch.isEmpty else { return }
                do {
                    guard let db = database() else { throw ConfigurationError("the database is closed") }
                    try await Self.insert(batch, on: db)
                    AlterMetrics.auditFlushed(lag: .now - oldest, events: batch.count)
                } catch {
                    logger.error("audit entries could not be written", metadata: ["count": "\(batch.count)", "type": "\(type(of: error))"])
                }
            }
            state.lastWrite = write
            return write
        }
        await write.value
    }

    /// One multi-row INSERT per 500 entries (PostgreSQL takes at most 65,535 binds).
    static func insert(_ entries: [AuditEntry], on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else {
            try await entries.map(AuditEvent.init).create(on: db)
            return
        }
        let uuidsAsText = sql.dialect.name == "sqlite"
        for start in stride(from: 0, to: entries.count, by: 500) {
            var insert = sql.insert(into: AuditEvent.schema).columns(AuditEntry.columns)
            for entry in entries[start..<min(start + 500, entries.count)] {
                insert = insert.values(entry.values(uuidsAsText: uuidsAsText))
            }
            try await insert.run()
        }
    }
}

extension Application {
    private enum AuditLogKey: StorageKey { typealias Value = AuditLog }

    /// The batched proxy audit writer (set by `configure(_:with:)`).
    var auditLog: AuditLog {
        get { requiredService(AuditLogKey.self) }
        set { storage[AuditLogKey.self] = newValue }
    }

    func useAuditLog() {
        // Optional, not `db`: a late flush after shutdown must fail softly, not trap.
        auditLog = AuditLog(logger: logger, database: { [weak self] in
            self.flatMap { $0.databases.database(logger: $0.logger, on: $0.eventLoopGroup.any()) }
        })
        lifecycle.use(AuditLogFlush())
    }
}

/// Writes what is still pending when the server stops.
private struct AuditLogFlush: LifecycleHandler {
    func shutdownAsync(_ application: Application) async {
        await application.auditLog.flush()
    }
}
