@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOHTTP1
import Testing
import Vapor
import VaporTesting

@Suite("Sandbox consent")
struct SandboxConsentTests {
    @Test("the consent page names the requesting app, escaped, and offers two accounts, Allow and Deny", arguments: TestDatabase.all)
    func consentPage(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            seeded.app.name = "<script>x</script>"
            try await seeded.app.update(on: app.db)

            let response = try await app.authorize(app.authorizationParameters(pkce: .make()))

            #expect(response.status == .ok)
            #expect(response.headers.contentType == .html)
            let html = response.text
            #expect(html.contains("&lt;script&gt;x&lt;/script&gt;"))
            #expect(!html.contains("<script>"))
            #expect(html.contains("Sandbox"))
            #expect(html.contains(#"name="account" value="alice@sandbox.test" checked"#))
            #expect(html.contains(#"name="account" value="bob@sandbox.test">"#))
            #expect(html.contains(#"id="allow""#) && html.contains(#"id="deny""#))
            #expect(html.contains(#"<form method="post" action="http://localhost:4000/sandbox/oauth/decision">"#))
            #expect(html.contains(#"name="state" value="state-123""#))
            #expect(response.headers.first(name: .cacheControl) == "no-store")
            #expect(response.headers.first(name: "X-Frame-Options") == "DENY")
            let csp = try #require(response.headers.first(name: "Content-Security-Policy"))
            #expect(csp.contains("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' http://localhost:4000"))
            #expect(response.headers.first(name: "Cross-Origin-Opener-Policy") == nil)
        }
    }

    @Test("the second provider's consent page says Sandbox Mail")
    func secondProvider() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let client = SandboxClientFixture(
                clientID: "client-sandbox-mail", secret: "secret-sandbox-mail", redirectURI: "http://localhost:4000/oauth/callback/sandbox-mail")
            let response = try await app.authorize(app.authorizationParameters(client, pkce: .make()))
            #expect(response.status == .ok)
            #expect(response.text.contains("Sandbox Mail account"))
        }
    }

    @Test("an unknown client or an unregistered redirect_uri gets an error page, never a redirect", arguments: [
        ("redirect_uri", "http://localhost:4000/oauth/callback/evil"),
        ("redirect_uri", "http://localhost:4000/oauth/callback?x=1"),
        ("redirect_uri", "https://evil.example/oauth/callback"),
        ("redirect_uri", "http://localhost:4000/OAUTH/callback"),
        ("redirect_uri", ""),
        ("client_id", "client-unknown"),
        ("client_id", ""),
    ])
    func untrustedRedirect(field: String, value: String) async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let parameters = app.authorizationParameters(pkce: .make()).map { $0.0 == field ? ($0.0, value) : $0 }

            let response = try await app.authorize(parameters)

            #expect(response.status == .badRequest)
            #expect(response.location == nil)
            #expect(response.headers.contentType == .html)
            #expect(response.text.contains("This sign-in request cannot continue"))
        }
    }

    @Test("an authorization request without S256 PKCE goes back to the app with invalid_request", arguments: [
        ("code_challenge", ""),
        ("code_challenge_method", ""),
        ("code_challenge_method", "plain"),
        ("code_challenge", "too-short"),
        ("response_type", ""),
    ])
    func missingPKCE(field: String, value: String) async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let parameters = app.authorizationParameters(pkce: .make()).map { $0.0 == field ? ($0.0, value) : $0 }

            let response = try await app.authorize(parameters)

            #expect(response.status == .found)
            #expect(response.redirectTarget == SandboxClientFixture().redirectURI)
            #expect(response.redirectParameters["error"] == "invalid_request")
            #expect(response.redirectParameters["state"] == "state-123")
            #expect(response.redirectParameters["iss"] == SandboxClientFixture.issuer)
        }
    }

    @Test("a response_type other than code goes back to the app with unsupported_response_type")
    func unsupportedResponseType() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let parameters = app.authorizationParameters(pkce: .make()).map { $0.0 == "response_type" ? ($0.0, "token") : $0 }
            let response = try await app.authorize(parameters)
            #expect(response.status == .found)
            #expect(response.redirectParameters["error"] == "unsupported_response_type")
        }
    }

    @Test("denying consent sends the app access_denied with its state and the issuer", arguments: TestDatabase.all)
    func deny(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)

            let response = try await app.decide("deny", app.authorizationParameters(pkce: .make()))

            #expect(response.status == .seeOther)
            #expect(response.redirectTarget == SandboxClientFixture().redirectURI)
            #expect(response.redirectParameters["error"] == "access_denied")
            #expect(response.redirectParameters["error_description"] != nil)
            #expect(response.redirectParameters["state"] == "state-123")
            #expect(response.redirectParameters["iss"] == SandboxClientFixture.issuer)
            #expect(response.redirectParameters["code"] == nil)
            #expect(try await SandboxAuthorizationCode.query(on: app.db).count() == 0)
        }
    }

    @Test("allowing consent sends the app a single code with its state and the issuer; only its hash is stored", arguments: TestDatabase.all)
    func allow(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)

            let response = try await app.decide("allow", app.authorizationParameters(pkce: .make()))

            #expect(response.status == .seeOther)
            #expect(response.redirectTarget == SandboxClientFixture().redirectURI)
            let code = try #require(response.redirectParameters["code"])
            #expect(code.count >= 43)
            #expect(response.redirectParameters["state"] == "state-123")
            #expect(response.redirectParameters["iss"] == SandboxClientFixture.issuer)
            #expect(response.redirectParameters["error"] == nil)
            let stored = try await SandboxAuthorizationCode.query(on: app.db).all()
            #expect(stored.count == 1)
            #expect(stored.first?.codeHash == SecretToken.hash(code))
            #expect(stored.first?.account == "alice@sandbox.test")
        }
    }

    @Test("a consent form changed on the way is checked again")
    func tamperedForm() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let valid = app.authorizationParameters(pkce: .make())
            let otherRedirect = valid.map { $0.0 == "redirect_uri" ? ($0.0, "https://evil.example/cb") : $0 }

            let redirected = try await app.decide("allow", otherRedirect)
            let unknownAccount = try await app.decide("allow", account: "mallory@evil.example", valid)

            #expect(redirected.status == .badRequest)
            #expect(redirected.location == nil)
            #expect(unknownAccount.redirectParameters["error"] == "invalid_request")
            #expect(try await SandboxAuthorizationCode.query(on: app.db).count() == 0)
        }
    }

    @Test("with the coop switch on, the consent page sends Cross-Origin-Opener-Policy: same-origin")
    func coopSwitch() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            try await app.sandboxControl(["coop": true])

            let response = try await app.authorize(app.authorizationParameters(pkce: .make()))

            #expect(response.status == .ok)
            #expect(response.headers.first(name: "Cross-Origin-Opener-Policy") == "same-origin")
        }
    }

    @Test("with the error switch set, the app gets that error at once, without a consent page",
          arguments: ["server_error", "temporarily_unavailable", "invalid_scope"])
    func errorSwitch(error: String) async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            try await app.sandboxControl(["error": error])

            let response = try await app.authorize(app.authorizationParameters(pkce: .make()))

            #expect(response.status == .found)
            #expect(response.redirectParameters["error"] == error)
            #expect(response.redirectParameters["error_description"]?.hasPrefix("Simulated") == true)
            #expect(response.redirectParameters["state"] == "state-123")
            #expect(response.redirectParameters["iss"] == SandboxClientFixture.issuer)
        }
    }

    @Test("the sandbox does not exist when it is not enabled")
    func disabled() async throws {
        try await withApp(sandbox: false) { app in
            let response = try await app.getPath("/sandbox/control")
            #expect(response.status == .notFound)
        }
    }
}
