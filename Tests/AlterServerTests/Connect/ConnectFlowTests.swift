@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor
import VaporTesting

@Suite("Connecting a provider through the hosted Connect UI")
struct ConnectFlowTests {
    @Test("a person connects the sandbox and the app receives a seed-shaped Grant[]", arguments: TestDatabase.all)
    func happyPath(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)

            let (token, finish) = try await flow.connect()

            // The finishing page posts the result to the opener, at the exact origin, with the nonce.
            let data = finish.scriptData
            #expect(data["origin"] as? String == "http://localhost:4001")
            #expect(data["nonce"] as? String == ConnectFlow.nonce)
            #expect(data["close"] as? Bool == true)
            #expect((data["events"] as? [[String: Any]])?.map { $0["name"] as? String } == ["OAUTH_COMPLETE"])
            let grants = try #require((data["result"] as? [String: Any])?["grants"] as? [[String: Any]])
            #expect(grants.count == 1)
            let grant = grants[0]
            #expect(Set(grant.keys) == ["grant_id", "provider", "provider_name", "account_identifier", "timestamp", "operation", "scopes", "status", "metadata"])
            #expect(grant["provider"] as? String == "sandbox")
            #expect(grant["provider_name"] as? String == "Sandbox")
            #expect(grant["account_identifier"] as? String == "alice@sandbox.test")
            #expect(grant["operation"] as? String == "creation")
            #expect(grant["status"] as? String == "active")
            #expect((grant["scopes"] as? [String])?.isEmpty == false)
            #expect((grant["metadata"] as? [String: String])?["account_email"] == "alice@sandbox.test")
            #expect((grant["timestamp"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } != nil)

            // The result endpoint says the same, and only the session's origin may read it.
            let result = try await flow.result(token)
            #expect(result.status == 200)
            #expect(result.json["status"] as? String == "completed")
            #expect((result.json["grants"] as? [[String: Any]])?.first?["grant_id"] as? String == grant["grant_id"] as? String)
            #expect(result.headers.first(name: "Access-Control-Allow-Origin") == "http://localhost:4001")
            let foreign = try await flow.result(token, origin: "https://evil.example.com")
            #expect(foreign.headers.first(name: "Access-Control-Allow-Origin") == nil)

            // Stored encrypted, bound to the grant.
            let stored = try #require(try await Grant.query(on: app.db).first())
            #expect(stored.id?.uuidString.lowercased() == grant["grant_id"] as? String)
            let accessToken = try stored.accessToken(using: app.sealer)
            let refreshToken = try #require(try stored.refreshToken(using: app.sealer))
            #expect(!stored.sealedAccessToken.contains(accessToken))
            if database == .sqlite {
                let directory = app.alterConfiguration.dataDirectory
                var bytes = Data()
                for suffix in ["", "-wal"] {
                    bytes += (try? Data(contentsOf: URL(fileURLWithPath: directory + "/alter.sqlite" + suffix))) ?? Data()
                }
                #expect(!bytes.isEmpty)
                #expect(bytes.range(of: Data(accessToken.utf8)) == nil)
                #expect(bytes.range(of: Data(refreshToken.utf8)) == nil)
            }
        }
    }

    @Test("every hosted page carries the security headers and stays under 10 KB")
    func pageHeaders() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let picker = try await flow.open(try await flow.mint())
            let finish = try await flow.connect().page
            let invalid = try await browser.get("/connect?token=cs_nope")
            for page in [picker, finish, invalid] {
                let csp = try #require(page.headers.first(name: "Content-Security-Policy"))
                #expect(csp.contains("frame-ancestors 'none'"))
                #expect(csp.contains("script-src 'nonce-"))
                #expect(!csp.contains("unsafe-inline"))
                #expect(page.headers.first(name: "X-Frame-Options") == "DENY")
                #expect(page.headers.first(name: "Referrer-Policy") == "no-referrer")
                #expect(page.headers.first(name: "Cache-Control") == "no-store")
                #expect(page.headers.first(name: "Cross-Origin-Opener-Policy") == nil)
                #expect(page.body.utf8.count <= 10_240)
            }
            #expect(picker.body.contains("Sandbox Mail"))
        }
    }

    @Test("the token works once: a second load reports session_expired, and the URL is cleaned")
    func tokenIsSingleUse() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            // The entry renders the flow page itself (no redirect hop) and names the clean URL
            // for the address bar; the token reaches no Referer and no later URL.
            let first = try await browser.get("/connect?token=\(token)&nonce=\(ConnectFlow.nonce)&mode=popup")
            #expect(first.status == 200)
            let address = try #require(first.scriptData["address"] as? String)
            #expect(address.hasPrefix("/connect/s/") && !address.contains(token))
            #expect(!first.body.contains(token))
            #expect(first.headers.first(name: "Referrer-Policy") == "no-referrer")
            #expect(first.headers.first(name: "Cache-Control")?.contains("no-store") == true)
            #expect(first.headers.first(name: "Set-Cookie")?.contains("HttpOnly") == true)
            #expect(first.headers.first(name: "Set-Cookie")?.contains("SameSite=Lax") == true)
            // A reload loads the clean URL: the same flow page, for this browser.
            let reloaded = try await browser.get(address)
            #expect(reloaded.status == 200)
            // Each load links straight to the provider with an attempt (and state) of its own.
            for page in [first, reloaded] {
                #expect((page.scriptData["next"] as? String)?.hasPrefix(browser.baseURL + "/sandbox/oauth/authorize?") == true)
            }
            #expect(reloaded.scriptData["next"] as? String != first.scriptData["next"] as? String)
            #expect(reloaded.scriptData["address"] == nil)

            let second = try await browser.get("/connect?token=\(token)&nonce=\(ConnectFlow.nonce)&mode=popup")
            #expect(second.status == 410, "a used link is gone, not a 200")
            let error = (second.scriptData["result"] as? [String: Any])?["error"] as? [String: Any]
            #expect(error?["code"] as? String == "session_expired")
            #expect(second.scriptData["origin"] as? String == "http://localhost:4001")
        }
    }

    @Test("an expired token reports session_expired without being consumed")
    func expiredToken() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            app.clock = VaultClock(now: { Date().addingTimeInterval(601) })
            let page = try await browser.get("/connect?token=\(token)&nonce=\(ConnectFlow.nonce)&mode=popup")
            #expect(page.status == 410)
            #expect(((page.scriptData["result"] as? [String: Any])?["error"] as? [String: Any])?["code"] as? String == "session_expired")
            #expect(try await ConnectSession.query(on: app.db).first()?.consumedAt == nil)
            #expect(try await flow.result(token).json["status"] as? String == "expired")
        }
    }

    @Test("an unknown or malformed token gets invalid_token, on the page and from the result endpoint")
    func invalidToken() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            for token in ["", "garbage", SecretToken.generate(prefix: "cs_")] {
                let page = try await browser.get("/connect?token=\(token)&nonce=\(ConnectFlow.nonce)&mode=popup")
                // A well-formed token nobody minted is 404; a malformed one is 400.
                #expect(page.status == (token.hasPrefix("cs_") ? 404 : 400))
                #expect(page.body.contains("invalid_token"))
                #expect(page.scriptData["result"] == nil)
                let result = try await flow.result(token)
                #expect(result.status == 401)
                #expect((result.json["error"] as? [String: Any])?["code"] as? String == "invalid_token")
            }
            #expect(try await ConnectSession.query(on: app.db).count() == 0)
        }
    }

    @Test("denying consent ends the session with oauth_denied and stores no grant", arguments: TestDatabase.all)
    func denied(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            let consent = try await flow.startOAuth(from: try await flow.open(token))
            let finish = try await flow.decide(consent, allow: false)

            let error = (finish.scriptData["result"] as? [String: Any])?["error"] as? [String: Any]
            #expect(error?["code"] as? String == "oauth_denied")
            let result = try await flow.result(token)
            #expect(result.json["status"] as? String == "failed")
            #expect((result.json["error"] as? [String: Any])?["code"] as? String == "oauth_denied")
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }

    @Test("the same end user (user_token sub) reconnecting the same account keeps the grant_id and reports reauth", arguments: TestDatabase.all)
    func reauth(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let issuer = TestIssuer()
            let seeded = try await seedApp(app, providers: ["sandbox"])
            try await issuer.configure(seeded.app, on: app.db)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let body: () async throws -> [String: any Sendable] = {
                ["allowed_origin": "http://localhost:4001", "user_token": try await issuer.token(sub: "user-1")]
            }
            let first = try await Self.grants(of: flow.connect(try await body()).page)
            let second = try await Self.grants(of: flow.connect(try await body()).page)
            let otherAccount = try await Self.grants(of: flow.connect(try await body(), account: "bob@sandbox.test").page)

            #expect(first[0]["operation"] as? String == "creation")
            #expect(second[0]["operation"] as? String == "reauth")
            #expect(second[0]["grant_id"] as? String == first[0]["grant_id"] as? String)
            #expect(otherAccount[0]["operation"] as? String == "creation")
            #expect(otherAccount[0]["grant_id"] as? String != first[0]["grant_id"] as? String)
            #expect(try await Grant.query(on: app.db).count() == 2)
        }
    }

    @Test("callbacks of the same end user and account arriving together make one grant, and every session reports it", arguments: TestDatabase.all)
    func simultaneousCallbacks(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let issuer = TestIssuer()
            let seeded = try await seedApp(app, providers: ["sandbox"])
            try await issuer.configure(seeded.app, on: app.db)
            // Six people's worth of browsers, each with its own session up to the consent page;
            // then all six callbacks at once. On SQLite they race on both connections (one per
            // event loop); on PostgreSQL the losers of the insert break the unique constraint.
            let browsers = (0..<6).map { _ in TestBrowser(baseURL: browser.baseURL) }
            do {
                var callbacks: [String] = []
                for each in browsers {
                    let flow = ConnectFlow(app: app, browser: each, key: seeded.key)
                    let token = try await flow.mint(["allowed_origin": "http://localhost:4001", "user_token": try await issuer.token(sub: "user-1")])
                    callbacks.append(try await flow.callbackURL(try await flow.startOAuth(from: try await flow.open(token)), allow: true))
                }
                let pages = try await withThrowingTaskGroup(of: TestBrowser.Page.self) { group in
                    for (each, url) in zip(browsers, callbacks) {
                        group.addTask { try await each.follow(try await each.get(url)) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let grants = try pages.map { page in try #require(try Self.grants(of: page).first, "\(page.status) \(page.body.prefix(300))") }
                #expect(Set(grants.compactMap { $0["grant_id"] as? String }).count == 1)
                #expect(grants.filter { $0["operation"] as? String == "creation" }.count == 1)
                #expect(try await Grant.query(on: app.db).count() == 1)
                #expect(try await ConnectSession.query(on: app.db).filter(\.$status == .completed).count() == browsers.count)
            } catch {
                for each in browsers { try? await each.close() }
                throw error
            }
            for each in browsers { try await each.close() }
        }
    }

    @Test("two anonymous end users connecting the same account get separate grants; neither overwrites the other's tokens", arguments: TestDatabase.all)
    func anonymousUsersDoNotShareGrants(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let alice = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let aliceGrant = try #require(try await Self.grants(of: alice.connect().page).first)
            let aliceID = try #require(aliceGrant["grant_id"] as? String)
            let aliceRow = try #require(try await Grant.find(UUID(uuidString: aliceID), on: app.db))
            let aliceToken = aliceRow.sealedAccessToken

            browser.forgetCookies()
            let bobGrant = try #require(try await Self.grants(of: alice.connect().page).first)
            #expect(bobGrant["operation"] as? String == "creation")
            #expect(bobGrant["grant_id"] as? String != aliceID)
            #expect(try await Grant.query(on: app.db).count() == 2)
            // Alice's grant still holds Alice's tokens.
            #expect(try await Grant.find(UUID(uuidString: aliceID), on: app.db)?.sealedAccessToken == aliceToken)
            let listed = try await browser.get("/v1/grants", headers: [("Authorization", "Bearer \(seeded.key)")])
            #expect((listed.json["grants"] as? [[String: Any]])?.allSatisfy { $0["user"] == nil } == true)
        }
    }

    @Test("repair_grant_id re-authorizes that grant when the same account returns, and only then", arguments: TestDatabase.all)
    func repairGrant(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let original = try #require(try await Self.grants(of: flow.connect().page).first?["grant_id"] as? String)
            let repair: [String: any Sendable] = ["allowed_origin": "http://localhost:4001", "allowed_providers": ["sandbox"], "repair_grant_id": original]

            let repaired = try #require(try await Self.grants(of: flow.connect(repair).page).first)
            #expect(repaired["operation"] as? String == "reauth")
            #expect(repaired["grant_id"] as? String == original)

            let otherAccount = try #require(try await Self.grants(of: flow.connect(repair, account: "bob@sandbox.test").page).first)
            #expect(otherAccount["operation"] as? String == "creation")
            #expect(otherAccount["grant_id"] as? String != original)

            for bad: [String: any Sendable] in [
                ["allowed_origin": "http://localhost:4001", "repair_grant_id": original],
                ["allowed_origin": "http://localhost:4001", "allowed_providers": ["sandbox"], "repair_grant_id": original.uppercased()],
            ] {
                let refused = try await app.mintSession(key: seeded.key, body: bad)
                #expect(refused.status == .badRequest)
                #expect(refused.errorCode == "invalid_request")
            }
            #expect(try await app.sessionCount() == 3)
        }
    }

    @Test("the same provider account connected by two users gives each their own grant")
    func usersDoNotShareGrants() async throws {
        try await withRunningApp { app, browser in
            let issuer = TestIssuer()
            let seeded = try await seedApp(app, providers: ["sandbox"])
            try await issuer.configure(seeded.app, on: app.db)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let body: (String) async throws -> [String: any Sendable] = { sub in
                ["allowed_origin": "http://localhost:4001", "user_token": try await issuer.token(sub: sub)]
            }
            let alice = try await Self.grants(of: flow.connect(try await body("user-1")).page)
            let mallory = try await Self.grants(of: flow.connect(try await body("user-2")).page)
            #expect(mallory[0]["operation"] as? String == "creation")
            #expect(mallory[0]["grant_id"] as? String != alice[0]["grant_id"] as? String)
            #expect(Set(try await Grant.query(on: app.db).all().map(\.userSubject)) == ["user-1", "user-2"])
        }
    }

    @Test("a session with an agent delegates its grants to that agent")
    func agentDelegation() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"], agents: ["calendar-bot"])
            let agent = try #require(try await Agent.query(on: app.db).first())
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let grants = try await Self.grants(of: flow.connect(["allowed_origin": "http://localhost:4001", "agent": "calendar-bot"]).page)
            let delegation = try #require(try await Delegation.query(on: app.db).first())
            #expect(delegation.$agent.id == agent.id)
            #expect(delegation.agentName == "calendar-bot")
            #expect(delegation.$grant.id.uuidString.lowercased() == grants[0]["grant_id"] as? String)
        }
    }

    static func grants(of page: TestBrowser.Page) throws -> [[String: Any]] {
        try #require((page.scriptData["result"] as? [String: Any])?["grants"] as? [[String: Any]])
    }
}
