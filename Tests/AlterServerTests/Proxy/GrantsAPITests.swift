@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("The grants API")
struct GrantsAPITests {
    @Test("an app lists, filters and reads its grants", arguments: TestDatabase.all)
    func listAndRead(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, agents: ["bot-1"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let plain = try await flow.connectGrant()
            let forAgent = try await flow.connectGrant(
                ["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001", "agent": "bot-1"], account: "bob@sandbox.test")
            let vault = VaultCalls(browser: browser, key: seeded.key)

            let all = try #require(try await vault.get("/v1/grants").json["grants"] as? [[String: Any]])
            #expect(Set(all.compactMap { $0["grant_id"] as? String }) == [plain, forAgent])
            let byAgent = try #require(try await vault.get("/v1/grants?agent=bot-1").json["grants"] as? [[String: Any]])
            #expect(byAgent.map { $0["grant_id"] as? String } == [forAgent])
            #expect((byAgent[0]["agents"] as? [String]) == ["bot-1"])
            #expect((try await vault.get("/v1/grants?provider=sandbox-mail").json["grants"] as? [Any])?.isEmpty == true)

            let one = try await vault.get("/v1/grants/\(plain)").json
            #expect(one["account_identifier"] as? String == "alice@sandbox.test")
            #expect(one["status"] as? String == "active")
            #expect(one["access_token"] == nil && one["refresh_token"] == nil)
        }
    }

    @Test("the token endpoint hands out a working, fresh access token and audits it")
    func headlessToken() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            RefreshTests.expire(app)

            let token = try await vault.send(.POST, "/v1/grants/\(grantID)/token")
            #expect(token.status == 200)
            let accessToken = try #require(token.json["access_token"] as? String)
            #expect(token.json["token_type"] as? String == "Bearer")
            let me = try await browser.get("/sandbox/api/me", headers: [("Authorization", "Bearer \(accessToken)")])
            #expect(me.json["email"] as? String == "alice@sandbox.test")
            #expect(try await vault.sandbox()["refresh_count"] as? Int == 1)
            let actions = (try await vault.get("/v1/audit?grant_id=\(grantID)").json["events"] as? [[String: Any]])?.compactMap { $0["action"] as? String }
            #expect(actions?.sorted() == ["refresh", "token"])
        }
    }

    @Test("deleting a grant revokes it at the provider, forgets the tokens and queues grant.revoked")
    func revoke() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            seeded.app.webhookURL = "http://localhost:4001/hooks"
            try await seeded.app.update(on: app.db)
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let grant = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            let accessToken = try grant.accessToken(using: app.sealer)

            let deleted = try await vault.send(.DELETE, "/v1/grants/\(grantID)")

            #expect(deleted.status == 200)
            #expect(deleted.json["revoked_at_provider"] as? Bool == true)
            let me = try await browser.get("/sandbox/api/me", headers: [("Authorization", "Bearer \(accessToken)")])
            #expect(me.status == 401)
            let after = try await vault.get("/v1/grants/\(grantID)")
            #expect(after.status == 410)
            #expect((after.json["error"] as? [String: Any])?["code"] as? String == "grant_revoked")
            #expect(try await Grant.query(on: app.db).count() == 0)
            #expect(try await WebhookOutbox.query(on: app.db).sort(\.$createdAt).all().map(\.type) == [.grantCreated, .grantRevoked])
            let actions = (try await vault.get("/v1/audit").json["events"] as? [[String: Any]])?.map { $0["action"] as? String }
            #expect(actions == ["revoke"])
        }
    }

    @Test("on SQLite a revocation while the other connection holds the write lock runs again and succeeds")
    func revokeWhileAnotherConnectionWrites() async throws {
        try await withApp(database: .sqlite) { app in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try #require(UUID(uuidString: try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "ada@sandbox.test", accessToken: "token-1")))
            let grant = try #require(try await Grant.find(grantID, on: app.db))
            // Its transaction reads first, so its first write is refused at once: without the
            // rerun it fails with "database is locked".
            let revoked = try await whileTheOtherConnectionWrites(app) { _, loop in
                try await GrantRevocation.revoke(grant, reason: "test", request: Request(application: app, on: loop))
            }
            #expect(revoked.grantID == grantID)
            #expect(try await Grant.find(grantID, on: app.db) == nil)
            #expect(try await RevokedGrant.find(grantID, on: app.db) != nil)
        }
    }

    @Test("with JWT identity a user_token and provider find the user's grant; several accounts need account_identifier")
    func identityLookup() async throws {
        try await withRunningApp { app, browser in
            let issuer = TestIssuer()
            let seeded = try await seedApp(app, providers: ["sandbox"])
            try await issuer.configure(seeded.app, on: app.db)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let userToken = try await issuer.token(sub: "user-7")
            let body: [String: any Sendable] = ["allowed_origin": "http://localhost:4001", "user_token": userToken]
            let alice = try await flow.connectGrant(body)
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let call: [String: any Sendable] = ["method": "GET", "url": vault.calendarURL, "user_token": userToken, "provider": "sandbox"]

            let single = try await vault.proxy(call)
            #expect(single.status == 200)
            #expect(single.headers.first(name: "Alter-Grant-Id") == alice)

            _ = try await flow.connectGrant(body, account: "bob@sandbox.test")
            let ambiguous = try await vault.proxy(call)
            #expect(ambiguous.status == 409)
            let error = try #require(ambiguous.json["error"] as? [String: Any])
            #expect(error["code"] as? String == "ambiguous_grant")
            #expect((error["details"] as? [String: String])?["accounts"] == "alice@sandbox.test,bob@sandbox.test")

            var picked = call
            picked["account_identifier"] = "bob@sandbox.test"
            let bob = try await vault.proxy(picked)
            #expect(bob.json["account"] as? String == "bob@sandbox.test")

            let stranger = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "user_token": try await issuer.token(sub: "user-8"), "provider": "sandbox"])
            #expect(stranger.status == 404)
        }
    }

    @Test("a call on behalf of an agent works only for grants delegated to it")
    func agents() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"], agents: ["bot-1", "bot-2"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key)
                .connectGrant(["allowed_origin": "http://localhost:4001", "agent": "bot-1"])
            let vault = VaultCalls(browser: browser, key: seeded.key)

            let allowed = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID, "agent": "bot-1"])
            let refused = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID, "agent": "bot-2"])

            #expect(allowed.status == 200)
            #expect(refused.status == 403)
            #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "agent_not_delegated")
            let audit = try #require(try await vault.get("/v1/audit").json["events"] as? [[String: Any]])
            #expect(audit.first?["agent"] as? String == "bot-1")
            let unknown = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID, "agent": "bot-3"])
            #expect(unknown.status == 404)
            #expect((unknown.json["error"] as? [String: Any])?["code"] as? String == "agent_not_found")
        }
    }
}
