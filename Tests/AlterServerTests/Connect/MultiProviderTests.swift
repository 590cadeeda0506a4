@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("Sessions with several providers, redirect mode and progress")
struct MultiProviderTests {
    @Test("the picker lists the providers; after one connects it shows Done, and Done returns the grants so far")
    func pickerAndDone() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            let picker = try await flow.open(token)
            #expect(picker.body.contains("data-provider=\"sandbox\""))
            #expect(picker.body.contains("data-provider=\"sandbox-mail\""))
            #expect(!picker.body.contains("id=\"done\""))
            #expect(picker.scriptData["pickerLinks"] as? Bool == true)

            let afterFirst = try await flow.decide(try await flow.startOAuth(from: picker, provider: "sandbox-mail"), allow: true)
            #expect(afterFirst.body.contains("Connected"))
            #expect(afterFirst.body.contains("id=\"done\""))
            #expect(afterFirst.body.contains("data-provider=\"sandbox\""))
            #expect((afterFirst.scriptData["events"] as? [[String: Any]])?.first?["name"] as? String == "OAUTH_COMPLETE")
            #expect(try await flow.result(token).json["status"] as? String == "pending")

            let path = try #require(try await ConnectSession.query(on: app.db).first()?.id).uuidString.lowercased()
            let finish = try await browser.follow(try await browser.postForm("/connect/s/\(path)/done", []))
            let grants = try ConnectFlowTests.grants(of: finish)
            #expect(grants.map { $0["provider"] as? String } == ["sandbox-mail"])
            #expect(try await flow.result(token).json["status"] as? String == "completed")
        }
    }

    @Test("a deny at the second provider returns to the picker with a message; the first grant is kept and Done delivers it", arguments: TestDatabase.all)
    func denyKeepsGrants(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            let picker = try await flow.open(token)
            _ = try await flow.decide(try await flow.startOAuth(from: picker, provider: "sandbox"), allow: true)

            let afterDeny = try await flow.decide(try await flow.startOAuth(from: picker, provider: "sandbox-mail"), allow: false)
            #expect(afterDeny.status == 200)
            #expect(afterDeny.body.contains("id=\"notice\""))
            #expect(afterDeny.body.contains("Access was not granted at Sandbox Mail."))
            #expect(afterDeny.body.contains("data-provider=\"sandbox-mail\""), "the declined provider can be tried again")
            #expect(afterDeny.body.contains("id=\"done\""))
            let events = try #require(afterDeny.scriptData["events"] as? [[String: Any]])
            #expect(events.first?["name"] as? String == "OAUTH_ERROR")
            #expect(events.first?["metadata"] as? [String: String] == ["provider": "sandbox-mail", "error_code": "oauth_denied"])
            #expect(afterDeny.scriptData["result"] == nil)
            #expect(try await flow.result(token).json["status"] as? String == "pending")

            let path = try #require(try await ConnectSession.query(on: app.db).first()?.id).uuidString.lowercased()
            let finish = try await browser.follow(try await browser.postForm("/connect/s/\(path)/done", []))
            #expect(try ConnectFlowTests.grants(of: finish).map { $0["provider"] as? String } == ["sandbox"])
            let result = try await flow.result(token).json
            #expect(result["status"] as? String == "completed")
            #expect((result["grants"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test("a deny before anything was connected in a multi-provider session offers the other providers instead of failing")
    func denyFirst() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            let picker = try await flow.open(token)
            let afterDeny = try await flow.decide(try await flow.startOAuth(from: picker, provider: "sandbox"), allow: false)
            #expect(afterDeny.body.contains("data-provider=\"sandbox-mail\""))
            #expect(!afterDeny.body.contains("id=\"done\""))
            #expect(try await flow.result(token).json["status"] as? String == "pending")
            let connected = try await flow.decide(try await flow.startOAuth(from: afterDeny, provider: "sandbox-mail"), allow: true)
            #expect(connected.body.contains("id=\"done\""))
        }
    }

    @Test("connecting every offered provider finishes the session with one grant each", arguments: TestDatabase.all)
    func bothProviders(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            let picker = try await flow.open(token)
            let afterFirst = try await flow.decide(try await flow.startOAuth(from: picker, provider: "sandbox"), allow: true)
            let finish = try await flow.decide(try await flow.startOAuth(from: afterFirst, provider: "sandbox-mail"), allow: true)

            let grants = try ConnectFlowTests.grants(of: finish)
            #expect(grants.map { $0["provider"] as? String } == ["sandbox", "sandbox-mail"])
            #expect((try await flow.result(token).json["grants"] as? [Any])?.count == 2)
        }
    }

    @Test("while the user is at the provider the result endpoint says an OAuth attempt is in progress")
    func inProgress() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            let before = try await flow.result(token)
            #expect(before.json["status"] as? String == "pending")
            #expect(before.json["oauth_in_progress"] as? Bool == false)
            // The one-provider page links straight to the provider: from then on the browser may
            // be there. (At a picker nothing has started until a pick: see the widget's e2e exit tests.)
            let start = try await flow.open(token)
            #expect(try await flow.result(token).json["oauth_in_progress"] as? Bool == true)

            let consent = try await flow.startOAuth(from: start)
            let during = try await flow.result(token)
            #expect(during.json["oauth_in_progress"] as? Bool == true)

            // Still in progress while the callback exchanges the code (a slow provider):
            // a widget polling now must keep waiting, not report an exit.
            let form = HTMLForm(html: consent.body)
            let decision = try await browser.postForm(form.action ?? "/sandbox/oauth/decision", form.fields + [form.button(id: "allow")!])
            let callback = try #require(decision.location)
            _ = try await browser.postJSON("/sandbox/control", ["slow_ms": 1500])
            let finishing = Task { try await browser.get(callback) }
            try await Task.sleep(for: .milliseconds(500))
            try await withTestBrowser(baseURL: browser.baseURL) { poller in
                let whileExchanging = try await ConnectFlow(app: app, browser: poller, key: seeded.key).result(token)
                #expect(whileExchanging.json["status"] as? String == "pending")
                #expect(whileExchanging.json["oauth_in_progress"] as? Bool == true)
                _ = try await finishing.value
                let after = try await ConnectFlow(app: app, browser: poller, key: seeded.key).result(token)
                #expect(after.json["status"] as? String == "completed")
                #expect(after.json["oauth_in_progress"] as? Bool == false)
            }
        }
    }

    @Test("in redirect mode the flow ends on return_url with only a status marker")
    func redirectMode() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint(["allowed_origin": "http://localhost:4001", "return_url": "http://localhost:4001/settings?tab=2#top"])
            let consent = try await flow.startOAuth(from: try await flow.open(token, mode: "redirect"))
            let finish = try await flow.decide(consent, allow: true)

            #expect(finish.scriptData["next"] as? String == "http://localhost:4001/settings?tab=2&alter_connect=complete#top")
            #expect(finish.scriptData["close"] as? Bool == false)
            #expect(!finish.body.contains(token))
            #expect(try await flow.result(token).json["status"] as? String == "completed")
        }
    }

    @Test("opened without the widget (no nonce), the flow ends on a page that says the tab can be closed")
    func withoutWidget() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint(["allowed_origin": "http://localhost:4001"])
            let start = try await browser.follow(try await browser.get("/connect?token=\(token)"))
            let finish = try await flow.decide(try await flow.startOAuth(from: start), allow: true)
            #expect(finish.body.contains("You can close this window"))
            #expect(finish.scriptData["nonce"] is NSNull || finish.scriptData["nonce"] == nil)
            #expect(finish.scriptData["next"] == nil)
        }
    }

    @Test("the result endpoint's CORS preflight allows the Authorization header")
    func preflight() async throws {
        try await withRunningApp { _, browser in
            let response = try await browser.send(
                .OPTIONS, "/v1/connect/sessions/result",
                headers: [("Origin", "http://localhost:4001"), ("Access-Control-Request-Headers", "authorization")], body: nil)
            #expect(response.status == 204)
            #expect(response.headers.first(name: "Access-Control-Allow-Headers") == "Authorization")
            #expect(response.headers.first(name: "Access-Control-Allow-Origin") == "http://localhost:4001")
        }
    }
}
