@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOFoundationCompat
import NIOConcurrencyHelpers
import Testing
import Vapor
import VaporTesting

/// The check through HTTP with the server's clock moved by the test (`VaultClock`): a
/// business-hours rule on `/v1/grants/{id}/token` opens and closes with the clock, and a rate
/// limit's window restarts on the minute, on SQLite and on PostgreSQL.
@Suite("Policy check")
struct PolicyCheckTests {
    final class MovableClock: Sendable {
        let now = NIOLockedValueBox(Date())
        var clock: VaultClock { VaultClock(now: { [now] in now.withLockedValue { $0 } }) }
        func set(_ iso: String) { now.withLockedValue { $0 = ISO8601DateFormatter().date(from: iso)! } }
    }

    static func token(_ app: Application, _ key: String, _ grant: String) async throws -> (HTTPStatus, String?) {
        var result: (HTTPStatus, String?) = (.ok, nil)
        try await app.testing().test(.POST, "/v1/grants/\(grant)/token", headers: ["Authorization": "Bearer \(key)"]) { response in
            let body = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
            result = (response.status, (body?["error"] as? [String: Any])?["code"] as? String)
        }
        return result
    }

    static func rule(_ app: Application, _ key: String, _ body: [String: Any]) async throws {
        try await app.testing().test(.POST, "/v1/policies", headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"],
            body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: body))) { response in
            #expect(response.status == .created, "\(response.body.string)")
        }
    }

    @Test("business hours in Europe/Paris open and close with the clock", arguments: TestDatabase.all)
    func businessHours(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let clock = MovableClock()
            app.clock = clock.clock
            clock.set("2026-12-01T10:00:00Z")
            let seeded = try await seedApp(app)
            let grant = try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "a@sandbox.test", accessToken: "at-1")
            try await Self.rule(app, seeded.key, ["scope": "provider", "target": "sandbox", "kind": "time_window",
                                                 "settings": ["time_zone": "Europe/Paris", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"]])
            #expect(try await Self.token(app, seeded.key, grant).0 == .ok)
            clock.set("2026-12-01T16:00:00Z")  // 17:00 in Paris
            #expect(try await Self.token(app, seeded.key, grant) == (.forbidden, "outside_time_window"))
            clock.set("2026-12-07T08:30:00Z")  // Monday 09:30
            #expect(try await Self.token(app, seeded.key, grant).0 == .ok)
            let denied = try await AuditEvent.query(on: app.db).filter(\AuditEvent.$action == AuditEvent.Action.policyDenied).all()
            #expect(denied.count == 1 && denied.first?.context?["rule_kind"] == "time_window")
        }
    }

    @Test("a rate limit counts per minute in the database", arguments: TestDatabase.all)
    func rateLimit(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let clock = MovableClock()
            app.clock = clock.clock
            clock.set("2026-12-01T10:00:05Z")
            let seeded = try await seedApp(app)
            let grant = try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "a@sandbox.test", accessToken: "at-1")
            try await Self.rule(app, seeded.key, ["scope": "app", "kind": "rate_limit", "settings": ["limit": 2]])
            #expect(try await Self.token(app, seeded.key, grant).0 == .ok)
            #expect(try await Self.token(app, seeded.key, grant).0 == .ok)
            #expect(try await Self.token(app, seeded.key, grant) == (.tooManyRequests, "rate_limit_exceeded"))
            clock.set("2026-12-01T10:01:00Z")
            #expect(try await Self.token(app, seeded.key, grant).0 == .ok)
        }
    }
}
