@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor

/// Security review F8: a total deadline on every outbound call, and no app's webhook
/// receiver can hold up another app's deliveries.
@Suite("Outbound deadlines")
struct OutboundDeadlineTests {
    @Test("a token endpoint that trickles its body is cut at the call deadline: refresh_failed, grant unchanged")
    func tricklingTokenEndpoint() async throws {
        let trickle: @Sendable (Int) -> Response = { _ in
            Response(status: .ok, body: .init(asyncStream: { writer in
                do {
                    try await writer.write(.buffer(ByteBuffer(string: "{\"access_token\":\"")))
                    for _ in 0..<80 {
                        try await Task.sleep(for: .milliseconds(250))
                        try await writer.write(.buffer(ByteBuffer(string: "x")))
                    }
                    try await writer.write(.end)
                } catch {
                    // The vault hung up at its deadline.
                    try? await writer.write(.error(error))
                }
            }))
        }
        try await RefreshFailureTests.withGitLab(answer: trickle) { app, vault, grantID, apiURL, _ in
            app.alterConfiguration.providerCallTimeout = 1
            let before = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            RefreshFailureTests.advance(app, by: 7200)

            let started = ContinuousClock.now
            let response = try await vault.proxy(["method": "GET", "url": apiURL, "grant_id": grantID])
            let took = ContinuousClock.now - started

            #expect(response.status == 503)
            #expect((response.json["error"] as? [String: Any])?["code"] as? String == "refresh_failed")
            // Half the body's 20 s: the cut is the 1 s deadline's, with room for a loaded machine.
            #expect(took < .seconds(10), "the refresh (and its lock) lasted \(took), the body would have taken 20 s")
            #expect(try await Grant.find(UUID(uuidString: grantID), on: app.db)?.sealedRefreshToken == before.sealedRefreshToken)
        }
    }

    @Test("one app's slow webhook receiver does not hold up another app's deliveries")
    func slowReceiverIsolated() async throws {
        let fast = Receiver()
        try await withRunningApp(routes: { app in
            fast.install(on: app)
            app.on(.POST, "slow-hooks") { _ async throws -> HTTPStatus in
                try await Task.sleep(for: .seconds(3))
                return .noContent
            }
        }) { app, browser in
            let slowApp = try await seedApp(app, providers: ["sandbox"])
            let fastApp = try await seedApp(app, providers: ["sandbox"])
            _ = try await WebhookTests.configure(slowApp, url: browser.baseURL + "/slow-hooks", app: app)
            _ = try await WebhookTests.configure(fastApp, url: browser.baseURL + "/hooks", app: app)
            _ = try await ConnectFlow(app: app, browser: browser, key: slowApp.key).connectGrant()
            _ = try await ConnectFlow(app: app, browser: browser, key: fastApp.key).connectGrant()
            let dispatcher = WebhookDispatcher(application: app)

            let started = ContinuousClock.now
            let pass = Task { try await dispatcher.deliverDue() }
            while fast.deliveries.withLockedValue({ $0.isEmpty }), ContinuousClock.now - started < .seconds(5) {
                try await Task.sleep(for: .milliseconds(50))
            }
            let fastTook = ContinuousClock.now - started
            let slowPending = try await WebhookOutbox.query(on: app.db).filter(\.$app.$id == slowApp.id).first()?.deliveredAt == nil
            // A second pass while the slow app's delivery runs leaves that app alone.
            let overlapping = try await dispatcher.deliverDue()

            #expect(fastTook < .seconds(2), "the other app's event waited \(fastTook)")
            #expect(slowPending)
            #expect(overlapping == 0)
            #expect(try await pass.value == 2)
            #expect(try await WebhookOutbox.query(on: app.db).filter(\.$deliveredAt == nil).count() == 0)
        }
    }
}
