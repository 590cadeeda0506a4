@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor
import VaporTesting

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

            #expect(replay.status == 410, "a used sign-in is gone")
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

            #expect(page.status == 403)
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
            // An unknown state is 404; a missing or malformed one is 400.
            #expect(page.status == (path.hasSuffix("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") ? 404 : 400))
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
            let authorize = try await flow.authorizationURL(from: try await flow.open(token))
            let finish = try await browser.follow(try await browser.get(authorize))

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
            let issuer = components.queryItems?.first { $0.name == "iss" }?.value
            components.queryItems = [
                URLQueryItem(name: "state", value: state), URLQueryItem(name: "iss", value: issuer),
                URLQueryItem(name: "error", value: "<img src=x onerror=alert(1)>"),
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
            let path = try #require(entry.scriptData["address"] as? String)
            browser.forgetCookies()
            let page = try await browser.get(path)
            let start = try await browser.get(path + "/start?provider=sandbox")
            #expect(page.status == 403)
            #expect(start.status == 403)
            #expect(try await OAuthAttempt.query(on: app.db).count() == 0)
        }
    }

    @Test("a hand-built start URL for a provider outside the session answers 403 and starts nothing")
    func startOutsideSession() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"])
            let entry = try await browser.get("/connect?token=\(token)&nonce=\(ConnectFlow.nonce)&mode=popup")
            let path = try #require(entry.scriptData["address"] as? String)
            // The one-provider page made its attempt for sandbox, and only that one.
            #expect(try await OAuthAttempt.query(on: app.db).all().map(\.provider) == ["sandbox"])
            // sandbox-mail is configured for the app, but this session offers only sandbox.
            for provider in ["sandbox-mail", "google", ""] {
                let start = try await browser.get(path + "/start?provider=" + provider)
                #expect(start.status == 403, "\(provider)")
                #expect(start.headers.first(name: "Content-Security-Policy") != nil)
            }
            #expect(try await OAuthAttempt.query(on: app.db).count() == 1)
        }
    }

    @Test("the binding cookie is __Host- and Secure outside loopback http")
    func bindingCookieAttributes() async throws {
        try await withApp(adjust: { $0.publicURL = "https://vault.example.com" }) { app in
            let seeded = try await seedApp(app)
            let minted = try await app.mintSession(key: seeded.key, body: ["allowed_origin": "http://localhost:4001"])
            let token = try #require(minted.json["session_token"] as? String)
            try await app.testing().test(.GET, "/connect?token=\(token)&nonce=\(ConnectFlow.nonce)&mode=popup") { response in
                #expect(response.status == .ok)
                let cookie = try #require(response.headers.first(name: "Set-Cookie"))
                #expect(cookie.hasPrefix("__Host-alter_flow_"))
                #expect(cookie.contains("Secure"))
                #expect(cookie.contains("Path=/"))
                #expect(!cookie.lowercased().contains("domain="))
            }
        }
    }

    @Test("the binding cookie is cleared when the flow ends; the finished window cannot be driven again")
    func bindingCookieCleared() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"])
            let start = try await flow.open(token)
            let consent = try await flow.startOAuth(from: start)
            let finish = try await flow.decide(consent, allow: true)
            #expect(finish.status == 200)
            let cleared = try #require(finish.headers.first(name: "Set-Cookie"))
            #expect(cleared.hasPrefix("alter_flow_"), "loopback http: no prefix")
            #expect(cleared.contains("Max-Age=0"))
            #expect(try await flow.result(token).json["status"] as? String == "completed")
            let session = try #require(try await ConnectSession.query(on: app.db).first())
            let again = try await browser.get(ConnectUIController.flowPath(try session.requireID()) + "/start?provider=sandbox")
            #expect(again.status == 403)
        }
    }
}

@Suite("The Connect flow ends cleanly when the server fails")
struct CallbackFailureTests {
    @Test("a sealer failure in the callback fails the session with internal_error on an error page, never raw JSON or pending", arguments: TestDatabase.all)
    func sealerFailure(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"])
            let consent = try await flow.startOAuth(from: try await flow.open(token))
            // The client secret no longer opens (a key removed from the ring, a corrupted row).
            let config = try #require(try await ProviderConfig.query(on: app.db).filter(\.$provider == "sandbox").first())
            config.sealedClientSecret = "v1.gone.AAAA"
            try await config.update(on: app.db)

            let page = try await flow.decide(consent, allow: true)

            #expect(page.headers.contentType == .html)
            let result = try #require(page.scriptData["result"] as? [String: Any])
            #expect((result["error"] as? [String: Any])?["code"] as? String == "internal_error")
            let read = try await flow.result(token).json
            #expect(read["status"] as? String == "failed")
            #expect(read["oauth_in_progress"] as? Bool == false)
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }
}
