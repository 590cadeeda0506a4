@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("The Connect flow refuses what it should")
struct FlowRejectionTests {
    /// Runs a flow up to the sandbox's redirect back to /oauth/callback and returns that URL.
    static func callbackURL(_ flow: ConnectFlow, allow: Bool = true) async throws -> (token: String, url: String) {
        let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"])
        let consent = try await flow.startOAuth(from: try await flow.open(token))
        let form = HTMLForm(html: consent.body)
        var fields = form.fields
        if let button = form.button(id: allow ? "allow" : "deny") { fields.append(button) }
        let decision = try await flow.browser.postForm(form.action ?? "/sandbox/oauth/decision", fields)
        return (token, try #require(decision.location))
    }

    static func tokenRequests(_ browser: TestBrowser) async throws -> Int {
        try #require(try await browser.get("/sandbox/control").json["token_requests"] as? Int)
    }

    @Test("a replayed callback (same state) is refused and makes no second token request")
    func replayedState() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (_, url) = try await Self.callbackURL(flow)
            _ = try await browser.follow(try await browser.get(url))
            let before = try await Self.tokenRequests(browser)

            let replay = try await browser.get(url)

            #expect(replay.status == 400)
            #expect(replay.body.contains("cannot be completed"))
            #expect(try await Self.tokenRequests(browser) == before)
            #expect(try await Grant.query(on: app.db).count() == 1)
        }
    }

    @Test("a callback in another browser is refused before any token request")
    func otherBrowser() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, url) = try await Self.callbackURL(flow)
            let before = try await Self.tokenRequests(browser)
            browser.forgetCookies()

            let page = try await browser.get(url)

            #expect(page.status == 400)
            #expect(try await Self.tokenRequests(browser) == before)
            #expect(try await Grant.query(on: app.db).count() == 0)
            #expect(try await flow.result(token).json["oauth_in_progress"] as? Bool == true)
        }
    }

    @Test("a callback with a missing, unknown or malformed state is refused", arguments: [
        "/oauth/callback?code=abc", "/oauth/callback?code=abc&state=", "/oauth/callback?code=abc&state=short",
        "/oauth/callback?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/oauth/callback?error=access_denied",
    ])
    func badState(path: String) async throws {
        try await withRunningApp { app, browser in
            let page = try await browser.get(path)
            #expect(page.status == 400)
            #expect(page.headers.first(name: "Content-Security-Policy") != nil)
            #expect(try await Self.tokenRequests(browser) == 0)
        }
    }

    @Test("a callback claiming another issuer (RFC 9207 mix-up) stores nothing")
    func issuerMismatch() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, url) = try await Self.callbackURL(flow)
            #expect(url.contains("iss="))
            var components = try #require(URLComponents(string: url))
            components.queryItems = components.queryItems?.map { $0.name == "iss" ? URLQueryItem(name: "iss", value: "https://evil.example.com") : $0 }
            _ = try await browser.follow(try await browser.get(try #require(components.string)))

            let error = try #require(try await flow.result(token).json["error"] as? [String: Any])
            #expect(error["code"] as? String == "oauth_provider_error")
            #expect((error["details"] as? [String: String])?["error"] == "issuer_mismatch")
            #expect(try await Self.tokenRequests(browser) == 0)
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }

    @Test("a provider error reaches the app as oauth_provider_error with the provider's code, escaped on the page")
    func providerError() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            _ = try await browser.postJSON("/sandbox/control", ["error": "temporarily_unavailable"])
            let token = try await flow.mint(["allowed_origin": "http://localhost:4001"])
            let start = try await flow.open(token)
            let redirect = try await browser.get(try #require(start.scriptData["next"] as? String))
            let finish = try await browser.follow(try await browser.get(try #require(redirect.location)))

            let error = try #require((finish.scriptData["result"] as? [String: Any])?["error"] as? [String: Any])
            #expect(error["code"] as? String == "oauth_provider_error")
            #expect((error["details"] as? [String: String])?["error"] == "temporarily_unavailable")
            #expect(finish.body.contains("<code>temporarily_unavailable</code>"))
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }

    @Test("provider error text is escaped on the page")
    func escapesProviderText() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (_, url) = try await Self.callbackURL(flow)
            var components = try #require(URLComponents(string: url))
            let state = components.queryItems?.first { $0.name == "state" }?.value
            components.queryItems = [
                URLQueryItem(name: "state", value: state), URLQueryItem(name: "error", value: "<img src=x onerror=alert(1)>"),
                URLQueryItem(name: "error_description", value: "</script><script>alert(2)</script>"),
            ]
            let finish = try await browser.follow(try await browser.get(try #require(components.string)))
            #expect(!finish.body.contains("<img src=x"))
            #expect(!finish.body.contains("<script>alert(2)"))
            #expect(finish.body.contains("&lt;img src=x onerror=alert(1)&gt;"))
        }
    }

    @Test("a failing token endpoint stores nothing and reports oauth_provider_error")
    func tokenEndpointFails() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            _ = try await browser.postJSON("/sandbox/control", ["token_error": "server_error"])
            let (token, _) = try await flow.connect()
            let error = try #require(try await flow.result(token).json["error"] as? [String: Any])
            #expect(error["code"] as? String == "oauth_provider_error")
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }

    @Test("the clean flow URL does nothing without the browser's cookie")
    func flowNeedsCookie() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint()
            let entry = try await browser.get("/connect?token=\(token)&nonce=\(ConnectFlow.nonce)&mode=popup")
            let path = try #require(entry.location)
            browser.forgetCookies()
            let page = try await browser.get(path)
            let start = try await browser.get(path + "/start?provider=sandbox")
            #expect(page.status == 400)
            #expect(start.status == 400)
            #expect(try await OAuthAttempt.query(on: app.db).count() == 0)
        }
    }
}
