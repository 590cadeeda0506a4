@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("Reading what a Connect session produced")
struct SessionResultTests {
    func backendRead(_ browser: TestBrowser, key: String, token: String) async throws -> TestBrowser.Page {
        try await browser.postJSON("/v1/connect/sessions/result", ["session_token": token], headers: [("Authorization", "Bearer \(key)")])
    }

    @Test("the app's backend reads a session's grants with its app key and the token it minted; another app cannot", arguments: TestDatabase.all)
    func backendReadsItsSession(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let other = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"])
            let pending = try await backendRead(browser, key: seeded.key, token: token)
            #expect(pending.status == 200)
            #expect(pending.json["status"] as? String == "pending")

            let consent = try await flow.startOAuth(from: try await flow.open(token))
            let finish = try await flow.decide(consent, allow: true)
            let delivered = try ConnectFlowTests.grants(of: finish)

            let read = try await backendRead(browser, key: seeded.key, token: token)
            #expect(read.status == 200)
            #expect(read.json["status"] as? String == "completed")
            let grants = try #require(read.json["grants"] as? [[String: Any]])
            #expect(grants.map { $0["grant_id"] as? String } == delivered.map { $0["grant_id"] as? String })
            #expect(read.headers.first(name: "Cache-Control")?.contains("no-store") == true)

            for (key, token) in [(other.key, token), (seeded.key, "cs_" + String(repeating: "x", count: 43)), (seeded.key, "nope")] {
                let refused = try await backendRead(browser, key: key, token: token)
                #expect(refused.status == 401)
                #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "invalid_token")
            }
            let noKey = try await browser.postJSON("/v1/connect/sessions/result", ["session_token": token])
            #expect(noKey.status == 401)
            #expect((noKey.json["error"] as? [String: Any])?["code"] as? String == "unauthorized")
        }
    }

    @Test("ten minutes after a session completed, neither read lists its grants any more: it reads as expired", arguments: TestDatabase.all)
    func grantsWindow(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connect()
            #expect(try await flow.result(token).json["status"] as? String == "completed")

            let later = Date().addingTimeInterval(SessionResult.grantsWindow + 5)
            app.clock = VaultClock(now: { later })
            for page in [try await flow.result(token), try await backendRead(browser, key: seeded.key, token: token)] {
                #expect(page.status == 200)
                #expect(page.json["status"] as? String == "expired")
                #expect(page.json["grants"] == nil)
                #expect((page.json["error"] as? [String: Any])?["code"] as? String == "session_expired")
            }
        }
    }

    @Test("an attempt whose callback stopped (state consumed, lease lapsed) reads as failed; a renewed lease reads in progress", arguments: TestDatabase.all)
    func interruptedAttempt(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let now = Date()
            app.clock = VaultClock(now: { now })
            // What a killed callback leaves behind: the state consumed with its lease, never finished.
            func interrupt(_ token: String) async throws {
                let session = try #require(try await ConnectSession.find(token: token, on: app.db))
                let attempt = try #require(try await OAuthAttempt.query(on: app.db).filter(\.$session.$id == session.requireID()).first())
                attempt.consumedAt = now
                attempt.leaseUntil = now.addingTimeInterval(AttemptLease.duration)
                try await attempt.update(on: app.db)
            }
            let single = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"])
            _ = try await flow.open(single)
            let several = try await flow.mint(["allowed_providers": ["sandbox", "sandbox-mail"], "allowed_origin": "http://localhost:4001"])
            _ = try await flow.startOAuth(from: try await flow.open(several), provider: "sandbox")
            try await interrupt(single)
            try await interrupt(several)
            for token in [single, several] {
                let read = try await flow.result(token).json
                #expect(read["status"] as? String == "pending")
                #expect(read["oauth_in_progress"] as? Bool == true)
            }

            let lapsed = now.addingTimeInterval(AttemptLease.duration + 1)
            app.clock = VaultClock(now: { lapsed })
            let failed = try await flow.result(single).json
            #expect(failed["status"] as? String == "failed")
            let error = try #require(failed["error"] as? [String: Any])
            #expect(error["code"] as? String == "internal_error")
            #expect((error["details"] as? [String: String])?["reason"] == "interrupted")
            // With several providers the session stays open, with nothing in progress.
            let open = try await flow.result(several).json
            #expect(open["status"] as? String == "pending")
            #expect(open["oauth_in_progress"] as? Bool == false)
            #expect(try await OAuthAttempt.query(on: app.db).filter(\.$finishedAt != nil).count() == 2)
        }
    }
}
