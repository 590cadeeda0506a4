@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOHTTP1
import Testing
import Vapor
import VaporTesting

@Suite("Sandbox token endpoint")
struct SandboxTokenTests {
    @Test("the app exchanges a code and the right verifier for a bearer token and a refresh token", arguments: TestDatabase.all)
    func exchange(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)

            let response = try await app.exchange(code: code, verifier: pkce.verifier)

            #expect(response.status == .ok)
            #expect(response.headers.first(name: .cacheControl) == "no-store")
            let json = response.json
            #expect(json["token_type"] as? String == "Bearer")
            #expect(json["expires_in"] as? Int == 3600)
            #expect(json["scope"] as? String == "profile email")
            let access = try #require(json["access_token"] as? String)
            let refresh = try #require(json["refresh_token"] as? String)
            let stored = try await SandboxToken.query(on: app.db).all().map(\.tokenHash)
            #expect(Set(stored) == [SecretToken.hash(access), SecretToken.hash(refresh)])
            #expect(try await app.sandboxCounters()["token_requests"] as? Int == 1)
        }
    }

    @Test("client_secret_post works as well as HTTP Basic")
    func clientSecretPost() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)
            let client = SandboxClientFixture()

            let response = try await app.postForm("/sandbox/oauth/token", [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", client.redirectURI),
                ("code_verifier", pkce.verifier), ("client_id", client.clientID), ("client_secret", client.secret),
            ])

            #expect(response.status == .ok)
            #expect(response.json["access_token"] is String)
        }
    }

    @Test("a wrong code_verifier gets invalid_grant and no tokens", arguments: TestDatabase.all)
    func wrongVerifier(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)

            let response = try await app.exchange(code: code, verifier: PKCEPair.make().verifier)

            #expect(response.status == .badRequest)
            #expect(response.oauthError == "invalid_grant")
            #expect(try await app.storedTokenCount() == 0)
        }
    }

    @Test("a reused code gets invalid_grant and revokes the tokens the first use bought", arguments: TestDatabase.all)
    func reusedCode(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)
            let first = try await app.exchange(code: code, verifier: pkce.verifier)
            let access = try #require(first.json["access_token"] as? String)
            let refresh = try #require(first.json["refresh_token"] as? String)

            let second = try await app.exchange(code: code, verifier: pkce.verifier)

            #expect(second.status == .badRequest)
            #expect(second.oauthError == "invalid_grant")
            #expect(try await app.storedTokenCount() == 2)
            #expect(try await app.callAPI("/sandbox/api/me", token: access).status == .unauthorized)
            #expect(try await app.refresh(refresh).oauthError == "invalid_grant")
        }
    }

    @Test("an expired code gets invalid_grant")
    func expiredCode() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)
            app.advanceClock(by: 61)

            let response = try await app.exchange(code: code, verifier: pkce.verifier)

            #expect(response.status == .badRequest)
            #expect(response.oauthError == "invalid_grant")
            #expect(try await app.storedTokenCount() == 0)
        }
    }

    @Test("a redirect_uri different from the authorization request's gets invalid_grant")
    func redirectMismatch() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)
            var client = SandboxClientFixture()
            client.redirectURI += "/other"

            let response = try await app.exchange(code: code, verifier: pkce.verifier, client)

            #expect(response.oauthError == "invalid_grant")
            #expect(try await app.storedTokenCount() == 0)
        }
    }

    @Test("a wrong, unknown or missing client secret gets invalid_client 401 and the code stays usable", arguments: TestDatabase.all)
    func wrongClientSecret(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)
            let base = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", SandboxClientFixture().redirectURI), ("code_verifier", pkce.verifier)]

            let responses = [
                try await app.exchange(code: code, verifier: pkce.verifier, SandboxClientFixture(secret: "wrong")),
                try await app.exchange(code: code, verifier: pkce.verifier, SandboxClientFixture(clientID: "client-unknown")),
                try await app.exchange(code: code, verifier: pkce.verifier, SandboxClientFixture(secret: "secret-sandbox-mail")),
                try await app.postForm("/sandbox/oauth/token", base),
                try await app.postForm("/sandbox/oauth/token", base + [("client_id", "client-sandbox"), ("client_secret", "wrong")]),
            ]

            for response in responses {
                #expect(response.status == .unauthorized)
                #expect(response.oauthError == "invalid_client")
                #expect(response.headers.first(name: .wwwAuthenticate)?.hasPrefix("Basic") == true)
            }
            #expect(try await app.storedTokenCount() == 0)
            #expect(try await app.exchange(code: code, verifier: pkce.verifier).status == .ok)
        }
    }

    @Test("a code issued to one client cannot be redeemed by another")
    func otherClientsCode() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)

            let response = try await app.exchange(
                code: code, verifier: pkce.verifier, SandboxClientFixture(clientID: "client-sandbox-mail", secret: "secret-sandbox-mail"))

            #expect(response.oauthError == "invalid_grant")
            #expect(try await app.storedTokenCount() == 0)
        }
    }

    @Test("a refresh returns a new access token and a new refresh token; the old refresh token then fails; every refresh is counted",
          arguments: TestDatabase.all)
    func refreshRotates(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()

            let refreshed = try await app.refresh(tokens.refresh)

            #expect(refreshed.status == .ok)
            let newAccess = try #require(refreshed.json["access_token"] as? String)
            let newRefresh = try #require(refreshed.json["refresh_token"] as? String)
            #expect(newAccess != tokens.access)
            #expect(newRefresh != tokens.refresh)
            #expect(refreshed.json["scope"] as? String == "profile email")
            #expect(try await app.callAPI("/sandbox/api/me", token: newAccess).status == .ok)

            let replayed = try await app.refresh(tokens.refresh)
            #expect(replayed.status == .badRequest)
            #expect(replayed.oauthError == "invalid_grant")
            #expect(try await app.refresh(newRefresh).status == .ok)

            let counters = try await app.sandboxCounters()
            #expect(counters["refresh_count"] as? Int == 3)
            #expect(counters["token_requests"] as? Int == 4)
        }
    }

    @Test("refreshes racing with one refresh token: exactly one gets new tokens", arguments: TestDatabase.all)
    func racingRefreshes(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()

            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<5 { group.addTask { try await app.refresh(tokens.refresh).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .badRequest }.count == 4)
            #expect(try await app.sandboxCounters()["refresh_count"] as? Int == 5)
        }
    }

    @Test("with revoke_refresh on, a refresh gets invalid_grant", arguments: TestDatabase.all)
    func revokeRefreshSwitch(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()
            try await app.sandboxControl(["revoke_refresh": true])

            let response = try await app.refresh(tokens.refresh)

            #expect(response.status == .badRequest)
            #expect(response.oauthError == "invalid_grant")
            #expect(try await app.storedTokenCount() == 2)
        }
    }

    @Test("with token_error set, both grants get a 5xx carrying that error", arguments: ["server_error", "temporarily_unavailable"])
    func tokenErrorSwitch(error: String) async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let tokens = try await app.sandboxTokens()
            let pkce = PKCEPair.make()
            let code = try await app.authorizationCode(pkce: pkce)
            try await app.sandboxControl(["token_error": error])

            let exchanged = try await app.exchange(code: code, verifier: pkce.verifier)
            let refreshed = try await app.refresh(tokens.refresh)

            for response in [exchanged, refreshed] {
                #expect(response.status == (error == "server_error" ? .internalServerError : .serviceUnavailable))
                #expect(response.oauthError == error)
            }
            #expect(try await app.storedTokenCount() == 2)
        }
    }

    @Test("slow_ms makes the token endpoint wait before it answers")
    func slowSwitch() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            try await app.sandboxControl(["slow_ms": 150])
            let started = ContinuousClock.now

            let response = try await app.refresh("sbx_rt_unknown")

            #expect(ContinuousClock.now - started >= .milliseconds(150))
            #expect(response.oauthError == "invalid_grant")
        }
    }

    @Test("an unknown grant type or a JSON body is refused with the OAuth error shape")
    func malformedRequests() async throws {
        try await withApp { app in
            _ = try await seedApp(app)
            let client = SandboxClientFixture()
            let password = try await app.postForm("/sandbox/oauth/token", [("grant_type", "password")], basic: (client.clientID, client.secret))
            let json = try await app.testing().sendRequest(.POST, "/sandbox/oauth/token") { request in
                request.headers.contentType = .json
                request.body = ByteBuffer(string: #"{"grant_type":"refresh_token"}"#)
            }
            let twice = try await app.postForm(
                "/sandbox/oauth/token", [("grant_type", "refresh_token"), ("grant_type", "refresh_token")], basic: (client.clientID, client.secret))

            #expect(password.oauthError == "unsupported_grant_type")
            #expect(json.oauthError == "invalid_request")
            #expect(twice.oauthError == "invalid_request")
            for response in [password, json, twice] { #expect(response.status == .badRequest) }
        }
    }
}
