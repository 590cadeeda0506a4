@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing
import Vapor

/// Crash safety (issue 14, b): `kill -9` a server while its refresh at a rotating provider
/// (the sandbox) is in flight, then restart it. The provider is the test's own instance, on
/// the same PostgreSQL, so it can outlive the killed one (as a real provider does) or die with it.
@Suite(
    "A refresh killed in flight",
    .enabled(if: TestDatabase.postgresURL != nil && FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct CrashRefreshTests {
    /// The provider holds each token request this long, so the kill lands inside it.
    static let hold = 1200

    @Test("the provider rotated and the answer was lost: after a restart the grant reads as needing reconnect on /v1 and /sdk, without a call")
    func lostRotation() async throws {
        let arrived = TokenRequests()
        try await withRunningApp(database: .postgres, adjust: { $0.recoversRefreshes = false }, routes: { $0.middleware.use(arrived) }) { app, browser in
            let (seeded, grantID) = try await Self.expiredGrant(app, browser)
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let before = try #require(try await vault.sandbox()["refresh_count"] as? Int)

            // The killed instance calls the test's sandbox, which survives the kill and rotates:
            // the kill comes once the token request is there, held.
            let killed = try await SecondInstance.start(sharing: app)
            let seen = arrived.count
            try await Self.kill(killed, grantID: grantID, key: seeded.key, once: { arrived.count > seen })
            try await Self.waitUntil("the provider rotated") { try await vault.sandbox()["refresh_count"] as? Int == before + 1 }
            try await vault.control(["slow_ms": 0])
            // The crash left the grant active, holding a refresh token the provider has replaced.
            #expect(try await Grant.find(UUID(uuidString: grantID), on: app.db)?.status == .active)

            let restarted = try await SecondInstance.start(sharing: app)
            defer { restarted.terminate() }
            // Within seconds of the restart and before anyone calls: no longer silently active.
            try await Self.waitUntil("the restarted instance settled the lost refresh") {
                try await Grant.find(UUID(uuidString: grantID), on: app.db)?.status == .error
            }
            try await withTestBrowser(baseURL: restarted.baseURL) { other in
                let calls = VaultCalls(browser: other, key: seeded.key)
                let listed = try await calls.get("/v1/grants/\(grantID)")
                #expect(listed.json["status"] as? String == "error", "\(listed.body)")
                let call = try await calls.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])
                #expect(call.status == 409, "\(call.body)")
                #expect((call.json["error"] as? [String: Any])?["code"] as? String == "credential_revoked", "\(call.body)")
            }
            // The official SDK's protocol: CredentialRevokedError, and the listing's flag.
            let tokenBody = Array(#"{"grant_id":"\#(grantID)","reason":null,"request":{"method":"GET","url":"\#(vault.calendarURL)"}}"#.utf8)
            let token = try await SignedRequestTests.sendJSON(
                app, SignedRequestTests.headers(key: seeded.key, path: "/sdk/token", body: tokenBody), path: "/sdk/token", body: tokenBody)
            #expect(token.json["error"] as? String == "credential_revoked", "\(token.json)")
            let listBody = Array(#"{"limit":10,"offset":0}"#.utf8)
            let list = try await SignedRequestTests.sendJSON(
                app, SignedRequestTests.headers(key: seeded.key, path: "/sdk/grants/list", body: listBody), path: "/sdk/grants/list", body: listBody)
            let item = try #require((list.json["grants"] as? [[String: Any]])?.first { $0["grant_id"] as? String == grantID }, "\(list.json)")
            #expect(item["status"] as? String == "error")
            #expect(item["needs_reconnect"] as? Bool == true)
            // One refresh only: the restarted instance's, which the provider refused.
            #expect(try await vault.sandbox()["refresh_count"] as? Int == before + 2)
            #expect(try await RefreshJournal.open(limit: 10, on: app.db).isEmpty)
            await restarted.stop()
        }
    }

    @Test("the provider never saw the lost refresh: after a restart the grant is refreshed with its stored token and keeps working")
    func lostBeforeRotation() async throws {
        try await withRunningApp(database: .postgres, adjust: { $0.recoversRefreshes = false }) { app, browser in
            let (seeded, grantID) = try await Self.expiredGrant(app, browser)
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let before = try #require(try await vault.sandbox()["refresh_count"] as? Int)

            // This instance calls its own sandbox, which dies with it before rotating anything.
            let killed = try await SecondInstance.start(sharing: app, ownProviders: true)
            try await Self.kill(killed, grantID: grantID, key: seeded.key, once: { try await RefreshJournal.isOpen(UUID(uuidString: grantID)!, on: app.db) })
            try await vault.control(["slow_ms": 0])
            #expect(try await vault.sandbox()["refresh_count"] as? Int == before)

            let restarted = try await SecondInstance.start(sharing: app)
            defer { restarted.terminate() }
            try await Self.waitUntil("the restarted instance refreshed the grant") { try await vault.sandbox()["refresh_count"] as? Int == before + 1 }
            try await withTestBrowser(baseURL: restarted.baseURL) { other in
                let call = try await VaultCalls(browser: other, key: seeded.key).proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])
                #expect(call.status == 200, "\(call.body)")
            }
            #expect(try await Grant.find(UUID(uuidString: grantID), on: app.db)?.status == .active)
            #expect(try await vault.sandbox()["refresh_count"] as? Int == before + 1)
            #expect(try await RefreshJournal.open(limit: 10, on: app.db).isEmpty)
            await restarted.stop()
        }
    }

    /// A connected sandbox grant whose access token has expired, and a provider that holds.
    static func expiredGrant(_ app: Application, _ browser: TestBrowser) async throws -> (SeededApp, String) {
        let seeded = try await seedApp(app, providers: ["sandbox"])
        let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
        let grant = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
        grant.expiresAt = Date().addingTimeInterval(-60)
        try await grant.save(on: app.db)
        try await VaultCalls(browser: browser, key: seeded.key).control(["slow_ms": hold])
        return (seeded, grantID.lowercased())
    }

    /// Calls `instance` on the grant and kills it once `inFlight` holds (its refresh is at the provider).
    static func kill(_ instance: SecondInstance, grantID: String, key: String, once inFlight: () async throws -> Bool) async throws {
        let call = Task {
            try? await withTestBrowser(baseURL: instance.baseURL) { other in
                _ = try await VaultCalls(browser: other, key: key).proxy(["method": "GET", "url": instance.providersURL + "/sandbox/api/calendar/events", "grant_id": grantID])
            }
        }
        try await waitUntil("the refresh is in flight", inFlight)
        await instance.kill()
        _ = await call.value
    }

    static func waitUntil(_ what: String, within seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting until \(what)")
        throw CancellationError()
    }
}

/// Counts token requests reaching the test's sandbox (the provider's side of the wire).
final class TokenRequests: AsyncMiddleware, @unchecked Sendable {
    private let seen = NIOLockedValueBox(0)
    var count: Int { seen.withLockedValue { $0 } }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if request.url.path == "/sandbox/oauth/token" { seen.withLockedValue { $0 += 1 } }
        return try await next.respond(to: request)
    }
}
