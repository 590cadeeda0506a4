import Fluent
import FluentKit
import Foundation
import Vapor

/// Writes proxy audit entries in small batches: the first entry starts a short timer, and
/// everything recorded meanwhile is inserted in one transaction. With SQLite's
/// `synchronous=FULL` a commit costs an fsync; one per batch instead of one per proxied
/// call keeps the proxy's added latency small. At most `delay` of entries can be lost in a
/// crash; reads of the audit log flush first, and so does shutdown.
actor AuditLog {
    private var pending: [AuditEvent] = []
    private var timer: Task<Void, Never>?
    /// When the oldest pending entry was recorded (the flush-lag metric).
    private var oldestPending: ContinuousClock.Instant?
    private let database: @Sendable () -> (any Database)?
    private let logger: Logger
    let delay: Duration

    init(delay: Duration = .milliseconds(20), logger: Logger, database: @escaping @Sendable () -> (any Database)?) {
        self.delay = delay
        self.logger = logger
        self.database = database
    }

    func record(_ event: AuditEvent) {
        if pending.isEmpty { oldestPending = .now }
        pending.append(event)
        if timer == nil {
            timer = Task { [delay] in
                try? await Task.sleep(for: delay)
                await self.flush()
            }
        }
    }

    func flush() async {
        timer = nil
        let batch = pending
        let oldest = oldestPending ?? .now
        pending = []
        guard !batch.isEmpty else { return }
        do {
            guard let db = database() else { throw ConfigurationError("the database is closed") }
            try await batch.create(on: db)
            AlterMetrics.auditFlushed(lag: .now - oldest, events: batch.count)
        } catch {
            logger.error("audit entries could not be written", metadata: ["count": "\(batch.count)", "type": "\(type(of: error))"])
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
