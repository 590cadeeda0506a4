@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOFoundationCompat
import NIOHTTP1
import Testing
import Vapor
import VaporTesting

@Suite("Sandbox API and revocation")
struct SandboxAPITests {
    @Test("/api/me describes the account the user chose on the consent page", arguments: TestDatabase.all)
    func me(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens(account: "bob@sandbox.test")

            let response = try await app.callAPI("/sandbox/api/me", token: tokens.access)

            #expect(response.status == .ok)
            #expect(response.json["id"] as? String == "sbx-user-bob")
            #expect(response.json["email"] as? String == "bob@sandbox.test")
            #expect(response.json["name"] as? String == "Bob Example")
        }
    }

    @Test("an access token past its access_token_ttl gets 401 invalid_token", arguments: TestDatabase.all)
    func expiredAccessToken(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            try await app.sandboxControl(["access_token_ttl": 60])
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)
            let exchanged = try await app.exchange(code: code, verifier: pkce.verifier)
            #expect(exchanged.json["expires_in"] as? Int == 60)
            let access = try #require(exchanged.json["access_token"] as? String)
            #expect(try await app.callAPI("/sandbox/api/me", token: access).status == .ok)

            app.advanceClock(by: 61)
            let response = try await app.callAPI("/sandbox/api/me", token: access)

            #expect(response.status == .unauthorized)
            #expect(response.headers.first(name: .wwwAuthenticate)?.contains(#"error="invalid_token""#) == true)
        }
    }

    @Test("a missing or made-up access token gets 401 with a Bearer challenge", arguments: [nil, "sbx_at_made-up", SecretToken.generate(prefix: "sbx_at_")])
    func badAccessTokens(token: String?) async throws {
        try await withApp { app in
            let response = try await app.callAPI("/sandbox/api/calendar/events", token: token)
            #expect(response.status == .unauthorized)
            #expect(response.headers.first(name: .wwwAuthenticate)?.hasPrefix("Bearer") == true)
        }
    }

    @Test("revoking a refresh token ends it and the access tokens of its grant; unknown tokens still get 200", arguments: TestDatabase.all)
    func revokeRefreshToken(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()
            let other = try await app.sandboxTokens()
            let client = SandboxClientFixture()

            let revoked = try await app.postForm(
                "/sandbox/oauth/revoke", [("token", tokens.refresh), ("token_type_hint", "refresh_token")], basic: (client.clientID, client.secret))
            let unknown = try await app.postForm("/sandbox/oauth/revoke", [("token", "nonsense")], basic: (client.clientID, client.secret))

            #expect(revoked.status == .ok)
            #expect(unknown.status == .ok)
            #expect(try await app.refresh(tokens.refresh).oauthError == "invalid_grant")
            #expect(try await app.callAPI("/sandbox/api/me", token: tokens.access).status == .unauthorized)
            #expect(try await app.callAPI("/sandbox/api/me", token: other.access).status == .ok)
        }
    }

    @Test("revoking an access token ends only that token")
    func revokeAccessToken() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()
            let client = SandboxClientFixture()

            let revoked = try await app.postForm("/sandbox/oauth/revoke", [("token", tokens.access)], basic: (client.clientID, client.secret))

            #expect(revoked.status == .ok)
            #expect(try await app.callAPI("/sandbox/api/me", token: tokens.access).status == .unauthorized)
            #expect(try await app.refresh(tokens.refresh).status == .ok)
        }
    }

    @Test("revocation needs client authentication, and a token of another client is left alone")
    func revokeNeedsClient() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()
            let mail = SandboxClientFixture(clientID: "client-sandbox-mail", secret: "secret-sandbox-mail")

            let anonymous = try await app.postForm("/sandbox/oauth/revoke", [("token", tokens.access)])
            let otherClient = try await app.postForm("/sandbox/oauth/revoke", [("token", tokens.access)], basic: (mail.clientID, mail.secret))

            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.oauthError == "invalid_client")
            #expect(otherClient.status == .ok)
            #expect(try await app.callAPI("/sandbox/api/me", token: tokens.access).status == .ok)
        }
    }

    @Test("the calendar lists three events for the signed-in account")
    func calendar() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()

            let response = try await app.callAPI("/sandbox/api/calendar/events", token: tokens.access)

            #expect(response.status == .ok)
            #expect(response.json["account"] as? String == "alice@sandbox.test")
            #expect((response.json["events"] as? [Any])?.count == 3)
        }
    }

    @Test("echo shows the method, headers and body it received, but only the scheme of the Authorization header")
    func echo() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()

            let response = try await app.callAPI(
                "/sandbox/api/echo", method: .POST, token: tokens.access, headers: ["X-Custom": "one", "Content-Type": "text/plain"], body: "hello")

            #expect(response.status == .ok)
            let json = response.json
            #expect(json["method"] as? String == "POST")
            #expect(json["body"] as? String == "hello")
            let headers = try #require(json["headers"] as? [String: String])
            #expect(headers["x-custom"] == "one")
            #expect(headers["content-type"] == "text/plain")
            #expect(headers["authorization"] == nil)
            let authorization = try #require(json["authorization"] as? [String: Any])
            #expect(authorization["present"] as? Bool == true)
            #expect(authorization["scheme"] as? String == "Bearer")
            #expect(!response.text.contains(tokens.access))
        }
    }

    @Test("status/{code} answers with that status, and every API call is counted", arguments: TestDatabase.all)
    func statusAndCount(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()

            let statuses = [429, 500, 503, 204]
            for status in statuses {
                let response = try await app.callAPI("/sandbox/api/status/\(status)", token: tokens.access)
                #expect(response.status.code == UInt(status))
            }
            _ = try await app.callAPI("/sandbox/api/me", token: nil)

            #expect(try await app.sandboxCounters()["api_calls"] as? Int == statuses.count + 1)
        }
    }

    @Test("control shows switches and counters, and reset puts everything back", arguments: TestDatabase.all)
    func controlReset(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            _ = try await app.sandboxTokens()
            let changed = try await app.sandboxControl([
                "coop": true, "error": "server_error", "token_error": "temporarily_unavailable", "revoke_refresh": true,
                "access_token_ttl": 5, "slow_ms": 10,
            ])
            #expect(changed["coop"] as? Bool == true)
            #expect(changed["error"] as? String == "server_error")
            #expect(changed["token_requests"] as? Int == 1)
            let cleared = try await app.sandboxControl(["error": NSNull()])
            #expect(cleared["error"] is NSNull)
            #expect(cleared["token_error"] as? String == "temporarily_unavailable")

            let reset = try await app.sandboxControl(["reset": true])

            #expect(reset["coop"] as? Bool == false)
            #expect(reset["error"] is NSNull)
            #expect(reset["token_error"] is NSNull)
            #expect(reset["revoke_refresh"] as? Bool == false)
            #expect(reset["access_token_ttl"] as? Int == 3600)
            #expect(reset["slow_ms"] as? Int == 0)
            #expect(reset["refresh_count"] as? Int == 0)
            #expect(reset["token_requests"] as? Int == 0)
            #expect(reset["api_calls"] as? Int == 0)
        }
    }

    @Test("control refuses an error that is not an OAuth error code, and a zero token lifetime")
    func controlValidation() async throws {
        try await withApp { app in
            for body: [String: Any] in [["error": "<b>x</b>"], ["token_error": "a b"], ["access_token_ttl": 0], ["slow_ms": -1]] {
                let data = try JSONSerialization.data(withJSONObject: body)
                let response = try await app.testing().sendRequest(.POST, "/sandbox/control") { request in
                    request.headers.contentType = .json
                    request.body = ByteBuffer(data: data)
                }
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "invalid_request")
            }
            let state = try await app.sandboxCounters()
            #expect(state["error"] is NSNull)
            #expect(state["access_token_ttl"] as? Int == 3600)
        }
    }

    @Test("a web page cannot flip the sandbox switches: form posts and foreign origins are refused and change nothing", arguments: [
        ("application/x-www-form-urlencoded", "error=server_error", nil, nil, 415),
        ("text/plain", #"{"error":"server_error"}"#, nil, nil, 415),
        ("multipart/form-data; boundary=x", "--x--", nil, nil, 415),
        ("application/json", #"{"error":"server_error"}"#, "https://evil.example", nil, 403),
        ("application/json", #"{"error":"server_error"}"#, "http://localhost:4001", "same-site", 403),
        ("application/json", #"{"error":"server_error"}"#, nil, "cross-site", 403),
        ("application/json", #"{"error":"server_error"}"#, "null", nil, 403),
    ] as [(String, String, String?, String?, Int)])
    func controlRefusesCrossSite(contentType: String, body: String, origin: String?, fetchSite: String?, status: Int) async throws {
        try await withApp { app in
            let response = try await app.testing().sendRequest(.POST, "/sandbox/control") { request in
                request.headers.replaceOrAdd(name: .contentType, value: contentType)
                if let origin { request.headers.replaceOrAdd(name: .origin, value: origin) }
                if let fetchSite { request.headers.replaceOrAdd(name: "Sec-Fetch-Site", value: fetchSite) }
                request.body = ByteBuffer(string: body)
            }
            #expect(Int(response.status.code) == status)
            #expect(response.errorCode == "invalid_request")
            #expect(try await app.sandboxCounters()["error"] is NSNull)
        }
    }

    @Test("scripts and the sandbox's own origin may flip the switches", arguments: [
        ("application/json", nil, nil), ("application/json; charset=utf-8", nil, nil), ("application/json", "http://localhost:4000", "same-origin"),
        ("Application/JSON", nil, "none"),
    ] as [(String, String?, String?)])
    func controlAcceptsSameOrigin(contentType: String, origin: String?, fetchSite: String?) {
        let check = SandboxControlRequest(contentType: contentType, origin: origin, fetchSite: fetchSite, ownOrigin: "http://localhost:4000")
        #expect(check.refusal == nil)
    }
}
