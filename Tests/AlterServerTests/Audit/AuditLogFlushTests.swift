@testable import AlterServer
import Fluent
import Foundation
import SQLKit
import Testing
import Vapor

@Suite("Audit log flush")
struct AuditLogFlushTests {
    @Test(
        "a reader's flush waits for the batch a timer's flush is still inserting",
        .enabled(if: TestDatabase.postgresURL != nil))
    func flushWaitsForAnInsertInProgress() async throws {
        try await withApp(database: .postgres) { app in
            let client = ClientApp(name: "audit-flush-\(UUID().uuidString.prefix(8))", websiteURL: nil)
            try await client.create(on: app.db)
            let appID = try client.requireID()
            let log = AuditLog(delay: .milliseconds(1), logger: app.logger, database: { app.db })
            let rows: @Sendable () async throws -> Int = { try await AuditEvent.query(on: app.db).filter(\.$app.$id == appID).count() }

            let reader = try await app.db.transaction { tx in
                // Holding this lock, the timer's insert waits; plain reads still go through.
                try await (tx as! any SQLDatabase).raw("LOCK TABLE audit_events IN EXCLUSIVE MODE").run()
                log.record(AuditEntry(appID: appID, grantID: nil, action: .proxy, caller: nil, agent: nil, status: 200, at: Date()))
                try await Task.sleep(for: .milliseconds(300))  // the timer took the batch and is blocked
                let reader = Task { await log.flush(); return try await rows() }
                try await Task.sleep(for: .milliseconds(300))
                return reader
            }
            #expect(try await reader.value == 1)
        }
    }
}
