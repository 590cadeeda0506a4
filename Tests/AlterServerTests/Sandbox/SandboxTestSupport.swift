@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing
import Vapor
import VaporTesting

/// What a test needs to play the OAuth client of `seedApp`'s "sandbox" registration.
struct SandboxClientFixture {
    var clientID = "client-sandbox"
    var secret = "secret-sandbox"
    var redirectURI = "http://localhost:4000/oauth/callback/sandbox"
    static let issuer = "http://localhost:4000/sandbox"
}

/// An RFC 7636 verifier and its S256 challenge.
struct PKCEPair {
    let verifier: String
    var challenge: String { SandboxPKCE.challenge(for: verifier) }

    static func make() -> PKCEPair { PKCEPair(verifier: SecretToken.randomString(bytes: 32)) }
}

extension Application {
    func getPath(_ path: String, headers: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        try await testing().sendRequest(.GET, path, headers: headers)
    }

    /// A form POST, with `client_secret_basic` when `basic` is given.
    func postForm(_ path: String, _ parameters: [(String, String)], basic: (String, String)? = nil) async throws -> TestingHTTPResponse {
        try await testing().sendRequest(.POST, path) { request in
            request.headers.contentType = .urlEncodedForm
            if let (id, secret) = basic {
                let credentials = SandboxForm.percentEncode(id) + ":" + SandboxForm.percentEncode(secret)
                request.headers.replaceOrAdd(name: .authorization, value: "Basic " + Data(credentials.utf8).base64EncodedString())
            }
            request.body = ByteBuffer(string: SandboxForm.encode(parameters))
        }
    }

    /// `POST /sandbox/control` with a JSON body; returns the state it answers with.
    @discardableResult
    func sandboxControl(_ body: [String: Any]) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        let response = try await testing().sendRequest(.POST, "/sandbox/control") { request in
            request.headers.contentType = .json
            request.body = ByteBuffer(data: data)
        }
        #expect(response.status == .ok)
        return response.json
    }

    func sandboxCounters() async throws -> [String: Any] {
        try await getPath("/sandbox/control").json
    }

    /// The authorization request's parameters as the vault's OAuth client sends them.
    func authorizationParameters(
        _ client: SandboxClientFixture = .init(), pkce: PKCEPair, state: String = "state-123", scope: String = "profile email"
    ) -> [(String, String)] {
        [
            ("response_type", "code"), ("client_id", client.clientID), ("redirect_uri", client.redirectURI),
            ("state", state), ("scope", scope), ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"),
        ]
    }

    func authorize(_ parameters: [(String, String)]) async throws -> TestingHTTPResponse {
        try await getPath("/sandbox/oauth/authorize?" + SandboxForm.encode(parameters))
    }

    /// Submits the consent form as a browser would after a click on Allow or Deny.
    func decide(_ decision: String, account: String = "alice@sandbox.test", _ parameters: [(String, String)]) async throws -> TestingHTTPResponse {
        try await postForm("/sandbox/oauth/decision", parameters + [("account", account), ("decision", decision)])
    }

    /// Consent with Allow; returns the code from the redirect.
    func authorizationCode(_ client: SandboxClientFixture = .init(), pkce: PKCEPair, account: String = "alice@sandbox.test") async throws -> String {
        let response = try await decide("allow", account: account, authorizationParameters(client, pkce: pkce))
        return try #require(response.redirectParameters["code"])
    }

    func exchange(code: String, verifier: String, _ client: SandboxClientFixture = .init()) async throws -> TestingHTTPResponse {
        try await postForm(
            "/sandbox/oauth/token",
            [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", client.redirectURI), ("code_verifier", verifier)],
            basic: (client.clientID, client.secret))
    }

    func refresh(_ refreshToken: String, _ client: SandboxClientFixture = .init()) async throws -> TestingHTTPResponse {
        try await postForm(
            "/sandbox/oauth/token", [("grant_type", "refresh_token"), ("refresh_token", refreshToken)],
            basic: (client.clientID, client.secret))
    }

    /// The whole flow: consent, then code exchange. Returns the token response's JSON.
    func sandboxTokens(account: String = "alice@sandbox.test") async throws -> (access: String, refresh: String) {
        let pkce = PKCEPair.make()
        let code = try await authorizationCode(pkce: pkce, account: account)
        let json = try await exchange(code: code, verifier: pkce.verifier).json
        return (try #require(json["access_token"] as? String), try #require(json["refresh_token"] as? String))
    }

    func callAPI(_ path: String, method: HTTPMethod = .GET, token: String?, headers: HTTPHeaders = [:], body: String? = nil) async throws -> TestingHTTPResponse {
        try await testing().sendRequest(method, path, headers: headers) { request in
            if let token { request.headers.bearerAuthorization = .init(token: token) }
            if let body { request.body = ByteBuffer(string: body) }
        }
    }

    func storedTokenCount() async throws -> Int { try await SandboxToken.query(on: db).count() }

    /// Moves the app's clock forward.
    func advanceClock(by seconds: TimeInterval) {
        let now = clock.now().addingTimeInterval(seconds)
        clock = VaultClock(now: { now })
    }
}

extension TestingHTTPResponse {
    var text: String { body.getString(at: body.readerIndex, length: body.readableBytes) ?? "" }

    var location: String? { headers.first(name: .location) }

    /// The query parameters of the `Location` header.
    var redirectParameters: [String: String] {
        guard let location, let query = URLComponents(string: location)?.percentEncodedQuery else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            result[SandboxForm.decode(parts[0])] = parts.count > 1 ? SandboxForm.decode(parts[1]) : ""
        }
        return result
    }

    /// The `Location` without its query.
    var redirectTarget: String? { location.map { String($0.prefix { $0 != "?" }) } }

    var oauthError: String? { json["error"] as? String }
}
