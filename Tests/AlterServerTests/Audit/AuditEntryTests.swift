@testable import AlterServer
import Fluent
import Foundation
import Testing
import Vapor

@Suite("Audit entries")
struct AuditEntryTests {
    /// What `AuditLog` writes must read back as the model the log is read through (the API,
    /// the SDK, the portal), field by field: the insert binds each value itself.
    @Test("entries written in a batch and inside a transaction read back as the model, every field", arguments: TestDatabase.all)
    func writtenEntriesReadBack(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let client = ClientApp(name: "audit-entry-\(UUID().uuidString.prefix(8))", websiteURL: nil)
            try await client.create(on: app.db)
            let appID = try client.requireID()
            let at = Date(timeIntervalSince1970: 1_796_000_000.25)
            var full = AuditEntry(appID: appID, grantID: UUID(), action: .apiCall, caller: "app", agent: "agent-7", method: "POST", host: "api.example.com", status: 201, at: at)
            full.latencyMS = 42
            full.reason = "nightly sync"
            full.context = ["run": "17", "unicode": "é ✓"]
            let bare = AuditEntry(appID: appID, grantID: nil, action: .revoke, caller: nil, agent: nil, status: nil, at: at.addingTimeInterval(1))
            let inTransaction = AuditEntry(appID: appID, grantID: UUID(), action: .refresh, caller: nil, agent: nil, host: "oauth.example.com", status: 200, at: at.addingTimeInterval(2))

            let log = AuditLog(delay: .milliseconds(1), logger: app.logger, database: { app.db })
            log.record(full)
            log.record(bare)
            await log.flush()
            try await app.db.transaction { tx in try await AuditLog.insert([inTransaction], on: tx) }

            let read = try await AuditEvent.query(on: app.db).filter(\.$app.$id == appID).sort(\.$at).all()
            try #require(read.count == 3)
            for (entry, event) in zip([full, bare, inTransaction], read) {
                #expect(event.id == entry.id)
                #expect(event.$app.id == entry.appID)
                #expect(event.grantID == entry.grantID)
                #expect(event.action == entry.action)
                #expect(event.caller == entry.caller)
                #expect(event.agent == entry.agent)
                #expect(event.method == entry.method)
                #expect(event.host == entry.host)
                #expect(event.status == entry.status)
                #expect(abs(event.at.timeIntervalSince(entry.at)) < 0.001)
                #expect(event.latencyMS == entry.latencyMS)
                #expect(event.reason == entry.reason)
                #expect(event.context == entry.context)
            }
        }
    }
}
