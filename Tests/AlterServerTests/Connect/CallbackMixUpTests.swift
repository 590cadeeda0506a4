@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// F6 / F18: the callback takes only a response meant for this attempt, from this provider.
@Suite("The callback refuses mix-ups and ambiguous responses")
struct CallbackMixUpTests {
    /// The callback URL the sandbox redirected to, with its query as name/value pairs.
    static func callback(_ flow: ConnectFlow) async throws -> (token: String, url: URLComponents) {
        let (token, url) = try await FlowRejectionTests.callbackURL(flow)
        return (token, try #require(URLComponents(string: url)))
    }

    static func value(_ name: String, in url: URLComponents) throws -> String {
        try #require(url.queryItems?.first { $0.name == name }?.value)
    }

    /// Sends the changed callback and returns the session's outcome; nothing may be stored.
    static func refusedOutcome(
        _ flow: ConnectFlow, app: Application, change: (inout URLComponents) throws -> Void
    ) async throws -> (status: String?, code: String?, details: [String: String]) {
        var (token, url) = try await callback(flow)
        try change(&url)
        let before = try await FlowRejectionTests.tokenRequests(flow.browser)
        _ = try await flow.browser.follow(try await flow.browser.get(try #require(url.string)))
        #expect(try await FlowRejectionTests.tokenRequests(flow.browser) == before)
        #expect(try await Grant.query(on: app.db).count() == 0)
        return try await flow.outcome(token)
    }

    /// nil: the `iss` left out.
    @Test("the sandbox always sends iss: a callback without it, or with another server's, fails as a provider error", arguments: [
        (nil, "issuer_missing"), ("https://accounts.google.com", "issuer_mismatch"), ("http://localhost:4000/sandbox/", "issuer_mismatch"),
    ] as [(String?, String)])
    func issuer(sent: String?, error: String) async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let outcome = try await Self.refusedOutcome(flow, app: app) { url in
                url.queryItems = url.queryItems?.compactMap { $0.name == "iss" ? sent.map { URLQueryItem(name: "iss", value: $0) } : $0 }
            }
            #expect(outcome.status == "failed")
            #expect(outcome.code == "oauth_provider_error")
            #expect(outcome.details["error"] == error)
        }
    }

    @Test("a denial without iss is still a denial: an error response cannot hand over a code")
    func denialWithoutIssuer() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, url) = try await FlowRejectionTests.callbackURL(flow, allow: false)
            var components = try #require(URLComponents(string: url))
            components.queryItems = components.queryItems?.filter { $0.name != "iss" }
            _ = try await browser.follow(try await browser.get(try #require(components.string)))
            #expect(try await flow.outcome(token).code == "oauth_denied")
        }
    }

    @Test("a code or iss sent twice is refused, not resolved to the last value", arguments: ["code", "iss"])
    func repeatedParameter(name: String) async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let outcome = try await Self.refusedOutcome(flow, app: app) { url in
                let value = try Self.value(name, in: url)
                url.queryItems?.append(URLQueryItem(name: name, value: value))
            }
            #expect(outcome.code == "oauth_provider_error")
            #expect(outcome.details["error"] == "invalid_response")
            #expect(outcome.details["error_description"] == "the response sent \(name) more than once")
        }
    }

    @Test("a state sent twice is refused like a missing one, and the real callback still completes")
    func repeatedState() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, url) = try await Self.callback(flow)
            var doubled = url
            doubled.queryItems?.append(URLQueryItem(name: "state", value: String(repeating: "A", count: 43)))

            let refused = try await browser.get(try #require(doubled.string))
            #expect(refused.status == 400)
            #expect(refused.body.contains("cannot be completed"))
            #expect(try await FlowRejectionTests.tokenRequests(browser) == 0)

            _ = try await browser.follow(try await browser.get(try #require(url.string)))
            #expect(try await flow.outcome(token).status == "completed")
        }
    }

    @Test("a response that arrives at another provider's redirect URI is refused (RFC 9700 §4.4.2.2)", arguments: [
        "/oauth/callback/sandbox-mail", "/oauth/callback", "/oauth/callback/google",
    ])
    func otherRedirectURI(path: String) async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox", "sandbox-mail"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let outcome = try await Self.refusedOutcome(flow, app: app) { url in
                #expect(url.path == "/oauth/callback/sandbox")
                url.path = path
            }
            #expect(outcome.code == "oauth_provider_error")
            #expect(outcome.details["error"] == "redirect_uri_mismatch")
        }
    }

    @Test("a config made before per-provider redirect URIs keeps /oauth/callback, and only that", arguments: TestDatabase.all)
    func legacyRedirectURI(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            // What the migration does to every config that existed before it.
            #expect(try await ProviderConfig.query(on: app.db).all().map(\.legacyCallback) == [nil])
            try await ProviderConfig.AddLegacyCallback.markExistingConfigs(on: app.db)
            #expect(try await ProviderConfig.query(on: app.db).all().map(\.legacyCallback) == [true])

            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, url) = try await Self.callback(flow)
            #expect(url.path == "/oauth/callback")
            var elsewhere = url
            elsewhere.path = "/oauth/callback/sandbox"
            _ = try await browser.follow(try await browser.get(try #require(elsewhere.string)))
            #expect(try await flow.outcome(token).details["error"] == "redirect_uri_mismatch")

            let (second, legacy) = try await Self.callback(flow)
            _ = try await browser.follow(try await browser.get(try #require(legacy.string)))
            #expect(try await flow.outcome(second).status == "completed")
        }
    }

    @Test("with openid, the request carries a nonce and the sandbox's ID token must answer it", arguments: TestDatabase.all)
    func openIDNonce(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            try await updateConfig(app, provider: "sandbox", scopes: ["openid", "email", "profile"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)

            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"])
            let consent = try await flow.startOAuth(from: try await flow.open(token))
            #expect(HTMLForm(html: consent.body).fields.contains { $0.0 == "nonce" && $0.1.count == 43 })
            let attempt = try #require(try await OAuthAttempt.query(on: app.db).first())
            #expect(attempt.nonceHash?.count == 64)
            _ = try await flow.decide(consent, allow: true)
            #expect(try await flow.outcome(token).status == "completed")
            #expect(try await Grant.query(on: app.db).count() == 1)
        }
    }

    @Test("a code issued for another nonce (an injected code) is refused: the ID token does not answer this attempt")
    func injectedCodeNonce() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            try await updateConfig(app, provider: "sandbox", scopes: ["openid", "email"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"])
            // The attacker's authorization request: same client and state, its own nonce.
            let location = try await flow.authorizationURL(from: try await flow.open(token))
            var authorize = try #require(URLComponents(string: location))
            authorize.queryItems = authorize.queryItems?.map { $0.name == "nonce" ? URLQueryItem(name: "nonce", value: "attacker-nonce") : $0 }
            let consent = try await browser.get(try #require(authorize.string))

            _ = try await flow.decide(consent, allow: true)

            let outcome = try await flow.outcome(token)
            #expect(outcome.code == "oauth_provider_error")
            #expect(outcome.details["error"] == "invalid_id_token")
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }

    @Test("a token of another type than Bearer is not stored", arguments: ["mac", "DPoP"])
    func nonBearerToken(type: String) async throws {
        try await withProviderDoubles({ app, base, log in
            let gitlab = try ProviderDouble("gitlab", app: app, base: base, log: log)
            gitlab.token { _ in ProviderDouble.json(["access_token": "glpat", "token_type": type, "expires_in": 7200]) }
            gitlab.userinfo { _ in ProviderDouble.json(["username": "alice"]) }
            return [gitlab.entry]
        }) { app, browser, _ in
            let seeded = try await seedApp(app, providers: ["gitlab"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("gitlab")
            let outcome = try await flow.outcome(token)
            #expect(outcome.details["error"] == "invalid_token_response")
            #expect(outcome.details["error_description"] == "the token response's token_type is not Bearer")
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }
}
