@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("Refreshing tokens")
struct RefreshTests {
    /// Moves the server's clock (and the sandbox's, which shares it) past the token's expiry.
    static func expire(_ app: Application) {
        let later = Date().addingTimeInterval(2 * 3600)
        app.clock = VaultClock(now: { later })
    }

    @Test("an expired token is refreshed once, then the call succeeds", arguments: TestDatabase.all)
    func refreshesExpired(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let before = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            let oldAccess = try before.accessToken(using: app.sealer)
            let oldRefresh = try before.refreshToken(using: app.sealer)
            Self.expire(app)

            let response = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])

            #expect(response.status == 200)
            #expect(try await vault.sandbox()["refresh_count"] as? Int == 1)
            let after = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            #expect(try after.accessToken(using: app.sealer) != oldAccess)
            #expect(try after.refreshToken(using: app.sealer) != oldRefresh)  // the sandbox rotates refresh tokens
            #expect(after.status == .active)
            // The test clock stands still, so both entries share a timestamp: compare as a set.
            let actions = (try await vault.get("/v1/audit").json["events"] as? [[String: Any]])?.compactMap { $0["action"] as? String }
            #expect(actions?.sorted() == ["proxy", "refresh"])
        }
    }

    @Test("fifty simultaneous calls on an expired grant cause exactly one refresh", arguments: TestDatabase.all)
    func oneRefreshAtATime(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            Self.expire(app)

            // A connection per call: with the client's default 8, 42 calls queued in the test's
            // own pool, which on a loaded run gave up on them before the vault could answer.
            let statuses = try await withTestBrowser(baseURL: browser.baseURL, connectionsPerHost: 50) { fifty in
                let vault = VaultCalls(browser: fifty, key: seeded.key)
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<50 {
                        group.addTask { try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID]).status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
            }
            let vault = VaultCalls(browser: browser, key: seeded.key)

            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            #expect(try await vault.sandbox()["refresh_count"] as? Int == 1)
        }
    }

    @Test("a token the provider rejects early is refreshed once and the call retried")
    func retriesAfter401() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let grant = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            // Revoke only the access token at the sandbox.
            let basic = Data("client-sandbox:secret-sandbox".utf8).base64EncodedString()
            let revoked = try await browser.send(
                .POST, "/sandbox/oauth/revoke", headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded")],
                body: FormEncoding.encode([("token", try grant.accessToken(using: app.sealer)), ("token_type_hint", "access_token")]))
            #expect(revoked.status == 200)

            let response = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])

            #expect(response.status == 200)
            #expect(try await vault.sandbox()["refresh_count"] as? Int == 1)
        }
    }

    @Test("a revoked refresh token ends in credential_revoked, marks the grant and queues a webhook", arguments: TestDatabase.all)
    func credentialRevoked(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            seeded.app.webhookURL = "http://localhost:4001/hooks"
            try await seeded.app.update(on: app.db)
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            try await vault.control(["revoke_refresh": true])
            Self.expire(app)

            let first = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])
            let second = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])

            for response in [first, second] {
                #expect(response.status == 409)
                let error = try #require(response.json["error"] as? [String: Any])
                #expect(error["code"] as? String == "credential_revoked")
                #expect((error["details"] as? [String: String])?["grant_id"] == grantID)
            }
            #expect(try await vault.sandbox()["refresh_count"] as? Int == 1)
            #expect(try await Grant.find(UUID(uuidString: grantID), on: app.db)?.status == .error)
            let types = try await WebhookOutbox.query(on: app.db).sort(\.$createdAt).all().map(\.type)
            #expect(types == [.grantCreated, .grantRefreshFailed])
            #expect((try await vault.get("/v1/grants/\(grantID)").json["status"] as? String) == "error")
        }
    }

    @Test("reconnecting after credential_revoked with repair_grant_id brings the same grant back as reauth")
    func reconnectAfterRevocation() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let grantID = try await flow.connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            try await vault.control(["revoke_refresh": true])
            Self.expire(app)
            #expect(try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID]).status == 409)
            try await vault.control(["reset": true])

            let repair: [String: any Sendable] = ["allowed_origin": "http://localhost:4001", "allowed_providers": ["sandbox"], "repair_grant_id": grantID]
            let grants = try ConnectFlowTests.grants(of: try await flow.connect(repair).page)

            #expect(grants[0]["grant_id"] as? String == grantID)
            #expect(grants[0]["operation"] as? String == "reauth")
            #expect(try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID]).status == 200)
        }
    }

    @Test("a provider outage during refresh is retryable and leaves the grant untouched")
    func transientFailure() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let before = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            try await vault.control(["token_error": "server_error"])
            Self.expire(app)

            let response = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])

            #expect(response.status == 503)
            #expect((response.json["error"] as? [String: Any])?["code"] as? String == "refresh_failed")
            let after = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            #expect(after.status == .active)
            #expect(after.sealedAccessToken == before.sealedAccessToken)
            #expect(after.sealedRefreshToken == before.sealedRefreshToken)

            try await vault.control(["token_error": NSNull()])
            #expect(try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID]).status == 200)
        }
    }
}
