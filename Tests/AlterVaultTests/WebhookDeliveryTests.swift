@testable import AlterServer
import AlterVault
import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import Testing
import Vapor

/// The vault's own deliveries verify with the SDK: same signature recipe, same event shape.
@Suite("Webhooks from a running vault")
struct WebhookDeliveryTests {
    @Test("connecting an account delivers grant.created, which verifyWebhook accepts")
    func grantCreated() async throws {
        try await withRunningVault { vault in
            try await withWebhookReceiver { receiverURL, received in
                let secret = "whsec_sdk_test_secret"
                let app = try #require(try await ClientApp.find(vault.appID, on: vault.app.db))
                app.webhookURL = receiverURL
                app.sealedWebhookSecret = try vault.app.sealer.seal(secret, row: vault.appID.uuidString, field: ClientApp.webhookSecretField)
                try await app.update(on: vault.app.db)

                let grantID = try await connect(vault)
                let delivery = try await received.first(within: .seconds(10))

                let event = try AlterVault.verifyWebhook(
                    payload: delivery.body, signatureHeader: delivery.signature, secret: secret, now: vault.clock.now)
                #expect(event.type == .grantCreated)
                #expect(event.grant.grantID == grantID)
                #expect(event.grant.accountIdentifier == "alice@sandbox.test")
                #expect(throws: WebhookVerificationError.signatureMismatch) {
                    try AlterVault.verifyWebhook(payload: delivery.body, signatureHeader: delivery.signature, secret: "whsec_wrong", now: vault.clock.now)
                }
            }
        }
    }
}

/// What a webhook endpoint received.
struct Delivery: Sendable {
    let signature: String
    let body: Data
}

final class Deliveries: Sendable {
    private let box = NIOLockedValueBox<[Delivery]>([])

    func append(_ delivery: Delivery) { box.withLockedValue { $0.append(delivery) } }

    func first(within limit: Duration) async throws -> Delivery {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let delivery = box.withLockedValue({ $0.first }) { return delivery }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ConfigurationError("no webhook delivery within \(limit)")
    }
}

/// A webhook endpoint on a loopback port that records each delivery's body and signature.
func withWebhookReceiver(_ body: (String, Deliveries) async throws -> Void) async throws {
    let port = try freePort()
    let receiver = try await Application.make(.testing)
    receiver.logger.logLevel = .warning
    let deliveries = Deliveries()
    receiver.post("hooks") { request -> HTTPStatus in
        deliveries.append(Delivery(
            signature: request.headers.first(name: "Alter-Signature") ?? "",
            body: request.body.data.map { Data(buffer: $0) } ?? Data()))
        return .noContent
    }
    do {
        try await receiver.server.start(address: .hostname("127.0.0.1", port: port))
        try await body("http://127.0.0.1:\(port)/hooks", deliveries)
    } catch {
        await receiver.server.shutdown()
        try? await receiver.asyncShutdown()
        throw error
    }
    await receiver.server.shutdown()
    try await receiver.asyncShutdown()
}
