@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// `/v1/agents…` and agent keys through the running app, as an app backend and its agents
/// call them over HTTP.
@Suite("Agents and agent keys")
struct AgentsAPITests {
    /// A JSON call with a Bearer key.
    static func call(
        _ browser: TestBrowser, _ method: HTTPMethod, _ path: String, key: String, _ body: [String: any Sendable]? = nil
    ) async throws -> TestBrowser.Page {
        var headers = [("Authorization", "Bearer \(key)")]
        var text: String?
        if let body {
            text = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            headers.append(("Content-Type", "application/json"))
        }
        return try await browser.send(method, path, headers: headers, body: text)
    }

    static func code(_ page: TestBrowser.Page) -> String? { (page.json["error"] as? [String: Any])?["code"] as? String }

    @Test("an app creates an agent; its first key is shown once and stored only as a hash; it is listed and found by name",
        arguments: TestDatabase.all)
    func createAndRead(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app)
            let created = try await Self.call(browser, .POST, "/v1/agents", key: seeded.key, [
                "name": "calendar-bot", "display_name": "Calendar bot", "scopes": ["sandbox": ["calendar.read"]], "metadata": ["team": "ops", "tier": 2] as [String: any Sendable],
            ])
            #expect(created.status == 201)
            let secret = try #require(created.json["api_key"] as? String)
            #expect(secret.hasPrefix("alter_ak_") && ScopedKey.isWellFormed(secret))
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["status"] as? String == "active" && created.json["type"] as? String == "agent")
            #expect((created.json["metadata"] as? [String: Any])?["tier"] as? Int == 2)
            let stored = try #require(try await APIKey.query(on: app.db).filter(\.$agent.$id != nil).first())
            #expect(stored.keyHash == SecretToken.hash(secret) && stored.keyHash != secret)
            #expect(stored.$agent.id?.uuidString.lowercased() == id)

            let list = try await Self.call(browser, .GET, "/v1/agents", key: seeded.key)
            #expect((list.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
            #expect(list.json["total"] as? Int == 1 && list.json["has_more"] as? Bool == false)
            let byName = try await Self.call(browser, .GET, "/v1/agents/calendar-bot", key: seeded.key)
            #expect(byName.json["id"] as? String == id && byName.json["api_key"] == nil)
            let keys = try await Self.call(browser, .GET, "/v1/agents/\(id)/keys", key: seeded.key)
            let items = try #require(keys.json["items"] as? [[String: Any]])
            #expect(items.count == 1 && items[0]["name"] as? String == "calendar-bot-1" && items[0]["api_key"] == nil)
            #expect(!keys.body.contains(secret))

            // Another app cannot see it.
            let other = try await seedApp(app)
            #expect(Self.code(try await Self.call(browser, .GET, "/v1/agents/\(id)", key: other.key)) == "agent_not_found")
        }
    }

    @Test("bad agent input gets a clear code and stores nothing")
    func refusals() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, agents: ["taken"])
            let cases: [([String: any Sendable], String)] = [
                (["name": "Bad Name"], "invalid_request"), (["name": ""], "invalid_request"), (["name": String(repeating: "a", count: 65)], "invalid_request"),
                (["name": "ok-name", "type": "robot"], "invalid_request"), (["name": "ok-name", "scopes": ["sandbox": [String]()]], "invalid_request"),
                (["name": "ok-name", "scopes": [" sandbox": ["x"]]], "invalid_request"),
                (["name": "ok-name", "metadata": ["blob": String(repeating: "x", count: 9000)]], "invalid_request"),
                (["name": "ok-name", "policy": ["requires_approval": true]], "invalid_request"), (["name": "taken"], "agent_name_exists"),
                (["display_name": "no name"], "invalid_request"),
            ]
            for (body, code) in cases {
                let answer = try await Self.call(browser, .POST, "/v1/agents", key: seeded.key, body)
                #expect(Self.code(answer) == code, "\(body)")
                #expect([400, 409].contains(answer.status))
            }
            #expect(try await Agent.query(on: app.db).count() == 1)
            #expect(try await APIKey.query(on: app.db).filter(\.$agent.$id != nil).count() == 0)
            // A stale version does not overwrite a newer allow-list.
            let agent = try #require(try await Agent.query(on: app.db).first())
            let stale = try await Self.call(browser, .PATCH, "/v1/agents/taken?expected_version=7", key: seeded.key, ["scopes": ["sandbox": ["x"]]])
            #expect(stale.status == 409 && Self.code(stale) == "agent_concurrent_update")
            let unversioned = try await Self.call(browser, .PATCH, "/v1/agents/taken", key: seeded.key, ["scopes": ["sandbox": ["x"]]])
            #expect(Self.code(unversioned) == "invalid_request")
            #expect(try await Agent.find(agent.id, on: app.db)?.scopesJSON == nil)
            let renamed = try await Self.call(browser, .PATCH, "/v1/agents/taken?expected_version=1", key: seeded.key, ["display_name": "Taken bot"])
            #expect(renamed.json["display_name"] as? String == "Taken bot" && renamed.json["version"] as? Int == 2)
        }
    }

    @Test("an agent key reaches only grants delegated to its agent; user_token and app-only routes are refused", arguments: TestDatabase.all)
    func agentKeyScope(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let created = try await Self.call(browser, .POST, "/v1/agents", key: seeded.key, ["name": "calendar-bot"])
            let agentKey = try #require(created.json["api_key"] as? String)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let delegated = try await flow.connectGrant(["allowed_origin": "http://localhost:4001", "agent": "calendar-bot"])
            let other = try await flow.connectGrant(account: "bob@sandbox.test")
            let agent = VaultCalls(browser: browser, key: agentKey)

            let allowed = try await agent.proxy(["method": "GET", "url": agent.calendarURL, "grant_id": delegated])
            #expect(allowed.status == 200)
            let refused = try await agent.proxy(["method": "GET", "url": agent.calendarURL, "grant_id": other])
            #expect(refused.status == 403 && Self.code(refused) == "agent_not_delegated")
            // By provider, an agent looks among its delegations only: no ambiguity with the other account.
            let byProvider = try await agent.proxy(["method": "GET", "url": agent.calendarURL, "provider": "sandbox"])
            #expect(byProvider.status == 200 && byProvider.headers.first(name: "Alter-Grant-Id") == delegated)
            let token = try await Self.call(browser, .POST, "/v1/grants/\(other)/token", key: agentKey)
            #expect(token.status == 403)
            let withUser = try await agent.proxy(["method": "GET", "url": agent.calendarURL, "provider": "sandbox", "user_token": "x.y.z"])
            #expect(withUser.status == 400 && Self.code(withUser) == "agent_user_token_refused")
            for (method, path) in [(HTTPMethod.GET, "/v1/grants"), (.GET, "/v1/agents"), (.DELETE, "/v1/grants/\(delegated)")] {
                let answer = try await Self.call(browser, method, path, key: agentKey)
                #expect(answer.status == 403 && Self.code(answer) == "agent_key_not_allowed", "\(path)")
            }
            #expect(try await Grant.query(on: app.db).count() == 2)
            let audit = try #require(try await VaultCalls(browser: browser, key: seeded.key).get("/v1/audit").json["events"] as? [[String: Any]])
            #expect(audit.contains { $0["agent"] as? String == "calendar-bot" && $0["grant_id"] as? String == delegated })

            // The app removes the delegation: the agent is refused at once, the grant stays.
            let removed = try await Self.call(browser, .DELETE, "/v1/grants/\(delegated)/delegations/calendar-bot", key: seeded.key)
            #expect(removed.status == 204)
            let after = try await agent.proxy(["method": "GET", "url": agent.calendarURL, "grant_id": delegated])
            #expect(after.status == 403 && Self.code(after) == "agent_not_delegated")
            #expect(try await Grant.find(UUID(uuidString: delegated), on: app.db) != nil)
            #expect(try await Self.call(browser, .DELETE, "/v1/grants/\(delegated)/delegations/calendar-bot", key: seeded.key).status == 204)
        }
    }

    @Test("a deprecated key still works and says so; the last key needs force; revoked and paused agents are refused")
    func keyLifecycle() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let created = try await Self.call(browser, .POST, "/v1/agents", key: seeded.key, ["name": "mail-bot"])
            let first = try #require(created.json["api_key"] as? String)
            let firstID = try #require(created.json["key_id"] as? String)
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key)
                .connectGrant(["allowed_origin": "http://localhost:4001", "agent": "mail-bot"])
            let call = { (key: String) in try await VaultCalls(browser: browser, key: key).proxy(["method": "GET", "url": VaultCalls(browser: browser, key: key).calendarURL, "grant_id": grantID]) }

            #expect(try await call(first).headers.first(name: "X-Alter-Key-Deprecated") == nil)
            let deprecated = try await Self.call(browser, .POST, "/v1/agents/mail-bot/keys/\(firstID)/deprecate", key: seeded.key)
            #expect(deprecated.json["status"] as? String == "deprecated")
            let stillWorks = try await call(first)
            #expect(stillWorks.status == 200 && stillWorks.headers.first(name: "X-Alter-Key-Deprecated") == "true")
            let undeprecated = try await Self.call(browser, .POST, "/v1/agents/mail-bot/keys/\(firstID)/undeprecate", key: seeded.key)
            #expect(undeprecated.json["status"] as? String == "active")

            let last = try await Self.call(browser, .DELETE, "/v1/agents/mail-bot/keys/\(firstID)", key: seeded.key)
            #expect(last.status == 409 && Self.code(last) == "last_active_key")
            #expect(try await call(first).status == 200)
            let minted = try await Self.call(browser, .POST, "/v1/agents/mail-bot/keys", key: seeded.key)
            let second = try #require(minted.json["api_key"] as? String)
            #expect(minted.json["name"] as? String == "mail-bot-2")
            #expect(try await Self.call(browser, .DELETE, "/v1/agents/mail-bot/keys/\(firstID)", key: seeded.key).json["status"] as? String == "revoked")
            #expect(try await call(first).status == 401)
            let again = try await Self.call(browser, .POST, "/v1/agents/mail-bot/keys/\(firstID)/deprecate", key: seeded.key)
            #expect(again.status == 409 && Self.code(again) == "key_already_revoked")
            let unknownKey = try await Self.call(browser, .POST, "/v1/agents/mail-bot/keys/\(UUID())/deprecate", key: seeded.key)
            #expect(unknownKey.status == 404 && Self.code(unknownKey) == "key_not_found")

            #expect(try await Self.call(browser, .PATCH, "/v1/agents/mail-bot", key: seeded.key, ["status": "inactive"]).json["status"] as? String == "inactive")
            let paused = try await call(second)
            #expect(paused.status == 401 && Self.code(paused) == "agent_inactive")
            _ = try await Self.call(browser, .PATCH, "/v1/agents/mail-bot", key: seeded.key, ["status": "active"])
            #expect(try await call(second).status == 200)

            let deleted = try await Self.call(browser, .DELETE, "/v1/agents/mail-bot", key: seeded.key)
            #expect(deleted.json["status"] as? String == "revoked")
            let afterDelete = try await call(second)
            #expect(afterDelete.status == 401 && Self.code(afterDelete) == "agent_revoked")
            #expect(try await APIKey.query(on: app.db).filter(\.$agent.$id != nil).filter(\.$revokedAt == nil).count() == 0)
            // The app acting as a revoked agent is refused too.
            let acting = try await VaultCalls(browser: browser, key: seeded.key).proxy(["method": "GET", "url": VaultCalls(browser: browser, key: seeded.key).calendarURL, "grant_id": grantID, "agent": "mail-bot"])
            #expect(acting.status == 404 && Self.code(acting) == "caller_agent_unresolved")
        }
    }

    @Test("the hosted Connect page of a session with an agent names the agent")
    func consentNamesTheAgent() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox", "sandbox-mail"])
            _ = try await Self.call(browser, .POST, "/v1/agents", key: seeded.key, ["name": "calendar-bot", "display_name": "Calendar <b>bot</b>"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let page = try await flow.open(try await flow.mint(["allowed_origin": "http://localhost:4001", "agent": "calendar-bot"]))
            #expect(page.body.contains("agent <strong>Calendar &lt;b&gt;bot&lt;/b&gt;</strong> is asking"))
            browser.forgetCookies()
            let plain = try await flow.open(try await flow.mint(["allowed_origin": "http://localhost:4001"]))
            #expect(!plain.body.contains("id=\"agent\""))
        }
    }

    @Test("delegations stored with only an agent name, and pending sessions, get a real agent of the grant's app", arguments: TestDatabase.all)
    func legacyDelegationsMigrate(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app, providers: ["sandbox"], agents: ["already-here"])
            let grantID = try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "a@sandbox.test", accessToken: "tok")
            let grant = try #require(UUID(uuidString: grantID))
            for name in ["old-bot", "already-here"] {
                let row = Delegation()
                row.id = UUID()
                row.$grant.id = grant
                row.agentName = name
                try await row.create(on: app.db)
            }
            let session = try await storeSession(app, appID: seeded.id, providers: ["sandbox"], status: .pending)
            session.legacyAgentName = "session-bot"
            try await session.update(on: app.db)

            try await Delegation.AddAgentReference.backfill(on: app.db)

            let agents = try await Agent.query(on: app.db).filter(\.$app.$id == seeded.id).all()
            #expect(Set(agents.map(\.name)) == ["already-here", "old-bot", "session-bot"])
            let rows = try await Delegation.query(on: app.db).with(\.$agent).all()
            #expect(rows.allSatisfy { $0.agent?.name == $0.agentName })
            #expect(try await ConnectSession.find(session.id, on: app.db)?.$agent.id == agents.first { $0.name == "session-bot" }?.id)
        }
    }
}
