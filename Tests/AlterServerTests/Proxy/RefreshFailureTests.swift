@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// Security review F3 and the refresh timing rules, through `POST /v1/request` against a
/// double of GitLab (a rotating provider) whose token endpoint answers as each case says.
@Suite("Refresh failures and timing")
struct RefreshFailureTests {
    /// What the double's token endpoint answers to `grant_type=refresh_token`.
    struct Answer: Sendable, CustomTestStringConvertible {
        let name: String
        let status: HTTPResponseStatus
        let contentType: String
        let body: String
        var headers: [(String, String)] = []
        var testDescription: String { name }

        static func json(_ name: String, _ status: HTTPResponseStatus, _ object: [String: String]) -> Answer {
            let data = try! JSONSerialization.data(withJSONObject: object)
            return Answer(name: name, status: status, contentType: "application/json", body: String(decoding: data, as: UTF8.self))
        }
    }

    /// Failures that say nothing about the user's authorization: the grant must survive them.
    static let retryable: [Answer] = [
        .json("400 temporarily_unavailable", .badRequest, ["error": "temporarily_unavailable"]),
        .json("400 server_error", .badRequest, ["error": "server_error"]),
        .json("200 carrying server_error", .ok, ["error": "server_error"]),
        .json("401 invalid_client (a wrong client secret)", .unauthorized, ["error": "invalid_client"]),
        .json("400 unauthorized_client", .badRequest, ["error": "unauthorized_client"]),
        .json("200 {} (no access_token)", .ok, [:]),
        Answer(name: "200 HTML maintenance page", status: .ok, contentType: "text/html", body: "<html>down for maintenance</html>"),
        Answer(name: "302 to a maintenance page", status: .found, contentType: "text/html", body: "", headers: [("Location", "https://status.example.com")]),
        Answer(name: "401 without a body", status: .unauthorized, contentType: "text/plain", body: ""),
        Answer(name: "404", status: .notFound, contentType: "text/plain", body: "not found"),
        Answer(name: "oversize 200 (300 KiB)", status: .ok, contentType: "application/json", body: "{\"padding\":\"" + String(repeating: "x", count: 300 * 1024) + "\"}"),
    ]

    /// A GitLab double on this app: `answer` decides each refresh; the API answers `api`.
    static func withGitLab(
        answer: @escaping @Sendable (Int) -> Response, api: @escaping @Sendable () -> Response = { ProviderDouble.json(["id": 1]) },
        revocations: Locked<[String]> = Locked([]),
        _ body: (Application, VaultCalls, _ grantID: String, _ apiURL: String, _ refreshes: Locked<Int>) async throws -> Void
    ) async throws {
        let refreshes = Locked(0)
        try await withProviderDoubles({ app, base, log in
            let gitlab = try ProviderDouble("gitlab", app: app, base: base, log: log) { $0.apiHosts = [base] }
            gitlab.token { _ in answer(refreshes.withValue { $0 += 1; return $0 }) }
            gitlab.handle(.GET, base + "/double/gitlab/api/v4/user", { _ in api() })
            gitlab.handle(.POST, try #require(gitlab.entry.revocationURL), { entry in
                revocations.withValue { $0.append("\(entry.form["token_type_hint"] ?? "?")=\(entry.form["token"] ?? "?")") }
                return ProviderDouble.raw("", status: .ok, contentType: "text/plain")
            })
            return [gitlab.entry]
        }) { app, browser, _ in
            let seeded = try await seedApp(app, providers: ["gitlab"])
            let session = try await storeSession(app, appID: seeded.id, providers: ["gitlab"])
            let tokens = ProviderTokens(accessToken: "at-1", refreshToken: "rt-1", expiresAt: app.clock.now().addingTimeInterval(7200))
            let written = try await GrantWriter(db: app.db, sealer: app.sealer, catalog: app.providerCatalog, now: app.clock.now())
                .write(session: session, provider: "gitlab", account: .init(identifier: "alice"), tokens: tokens, requestedScopes: [])
            try await body(app, VaultCalls(browser: browser, key: seeded.key), try written.grant.requireID().uuidString, browser.baseURL.replacingOccurrences(of: "localhost", with: "127.0.0.1") + "/double/gitlab/api/v4/user", refreshes)
        }
    }

    static func advance(_ app: Application, by seconds: TimeInterval) {
        let later = app.clock.now().addingTimeInterval(seconds)
        app.clock = VaultClock(now: { later })
    }

    static func respond(_ answer: Answer) -> Response {
        let response = ProviderDouble.raw(answer.body, status: answer.status, contentType: answer.contentType)
        for (name, value) in answer.headers { response.headers.replaceOrAdd(name: name, value: value) }
        return response
    }

    @Test("a refresh failure other than invalid_grant answers retryable refresh_failed and leaves the grant as it was", arguments: retryable)
    func retryableFailure(answer: Answer) async throws {
        try await Self.withGitLab(answer: { _ in Self.respond(answer) }) { app, vault, grantID, apiURL, refreshes in
            let before = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            Self.advance(app, by: 7200)

            let response = try await vault.proxy(["method": "GET", "url": apiURL, "grant_id": grantID])

            #expect(response.status == 503)
            #expect((response.json["error"] as? [String: Any])?["code"] as? String == "refresh_failed")
            #expect(refreshes.withValue { $0 } == 1)
            let after = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            #expect(after.status == .active)
            #expect(after.sealedAccessToken == before.sealedAccessToken)
            #expect(after.sealedRefreshToken == before.sealedRefreshToken)
            #expect(after.expiresAt == before.expiresAt)
            #expect(!(try await WebhookOutbox.query(on: app.db).all().map(\.type)).contains(.grantRefreshFailed))
        }
    }

    @Test("invalid_grant, and only it, marks the grant revoked")
    func invalidGrantRevokes() async throws {
        let answer = Answer.json("400 invalid_grant", .badRequest, ["error": "invalid_grant"])
        try await Self.withGitLab(answer: { _ in Self.respond(answer) }) { app, vault, grantID, apiURL, _ in
            Self.advance(app, by: 7200)

            let response = try await vault.proxy(["method": "GET", "url": apiURL, "grant_id": grantID])

            #expect(response.status == 409)
            #expect((response.json["error"] as? [String: Any])?["code"] as? String == "credential_revoked")
            #expect(try await Grant.find(UUID(uuidString: grantID), on: app.db)?.status == .error)
        }
    }

    @Test("an API that keeps answering 401 costs one refresh, not one per call")
    func repeated401RefreshesOnce() async throws {
        let fresh: @Sendable (Int) -> Response = { n in
            ProviderDouble.json(["access_token": "at-\(n + 1)", "refresh_token": "rt-\(n + 1)", "token_type": "Bearer", "expires_in": "7200"])
        }
        try await Self.withGitLab(answer: fresh, api: { ProviderDouble.json(["message": "401 Unauthorized"], status: .unauthorized) }) { app, vault, grantID, apiURL, refreshes in
            var statuses: [Int] = []
            for _ in 0..<5 { statuses.append(try await vault.proxy(["method": "GET", "url": apiURL, "grant_id": grantID]).status) }

            #expect(statuses == [401, 401, 401, 401, 401])
            #expect(refreshes.withValue { $0 } == 1)
            // After the interval, a 401 may try a refresh again.
            Self.advance(app, by: RefreshCoordinator.rejectionRefreshInterval + 1)
            let later = try await vault.proxy(["method": "GET", "url": apiURL, "grant_id": grantID])
            #expect(later.status == 401)
            #expect(refreshes.withValue { $0 } == 2)
        }
    }

    @Test("a 30-second token is refreshed shortly before it expires, not on every call")
    func shortLivedTokens() async throws {
        let fresh: @Sendable (Int) -> Response = { n in
            ProviderDouble.json(["access_token": "at-\(n + 1)", "refresh_token": "rt-\(n + 1)", "token_type": "Bearer", "expires_in": 30])
        }
        try await Self.withGitLab(answer: fresh) { app, vault, grantID, apiURL, refreshes in
            @Sendable func call() async throws -> Int { try await vault.proxy(["method": "GET", "url": apiURL, "grant_id": grantID]).status }
            Self.advance(app, by: 7200)
            var statuses = [try await call()]
            #expect(refreshes.withValue { $0 } == 1)  // the 2-hour token expired: refreshed into a 30 s one

            for _ in 0..<3 { statuses.append(try await call()) }
            Self.advance(app, by: 20)
            statuses.append(try await call())
            #expect(refreshes.withValue { $0 } == 1, "20 s into a 30 s token is still inside its life")

            Self.advance(app, by: 5)  // 5 s left: under a fifth of the lifetime
            statuses.append(try await call())
            #expect(refreshes.withValue { $0 } == 2)
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        }
    }

    @Test("revoking a grant revokes its refresh token and its access token at the provider")
    func revokesBothTokens() async throws {
        let revocations = Locked<[String]>([])
        try await Self.withGitLab(answer: { _ in ProviderDouble.json([:]) }, revocations: revocations) { app, vault, grantID, _, _ in
            let deleted = try await vault.send(.DELETE, "/v1/grants/\(grantID)")

            #expect(deleted.status == 200)
            #expect(deleted.json["revoked_at_provider"] as? Bool == true)
            #expect(revocations.withValue { $0 } == ["refresh_token=rt-1", "access_token=at-1"])
        }
    }
}
