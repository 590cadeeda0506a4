@testable import AlterServer
import Crypto
import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor

/// A webhook receiver on the test server: records what arrives, can be "down".
final class Receiver: Sendable {
    struct Delivery: Sendable {
        let body: String
        let signature: String?
        let type: String?
    }
    let deliveries = NIOLockedValueBox<[Delivery]>([])
    let down = NIOLockedValueBox(false)

    func install(on app: Application) {
        app.on(.POST, "hooks", body: .collect(maxSize: "1mb")) { request -> HTTPStatus in
            if self.down.withLockedValue({ $0 }) { return .serviceUnavailable }
            let body = request.body.string ?? ""
            self.deliveries.withLockedValue {
                $0.append(.init(body: body, signature: request.headers.first(name: "Alter-Signature"), type: request.headers.first(name: "Alter-Event-Type")))
            }
            return .noContent
        }
    }
}

@Suite("Webhooks")
struct WebhookTests {
    static func configure(_ seeded: SeededApp, url: String, app: Application) async throws -> String {
        let secret = WebhookSignature.newSecret()
        seeded.app.webhookURL = url
        seeded.app.sealedWebhookSecret = try app.sealer.seal(secret, row: seeded.id.uuidString, field: ClientApp.webhookSecretField)
        try await seeded.app.update(on: app.db)
        return secret
    }

    @Test("grant events are signed and delivered, and a receiver that was down gets them after it recovers", arguments: TestDatabase.all)
    func deliversWithRetry(database: TestDatabase) async throws {
        let receiver = Receiver()
        try await withRunningApp(database: database, routes: receiver.install) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let secret = try await Self.configure(seeded, url: browser.baseURL + "/hooks", app: app)
            receiver.down.withLockedValue { $0 = true }
            _ = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let dispatcher = WebhookDispatcher(application: app)

            #expect(try await dispatcher.deliverDue() == 0)
            let failed = try #require(try await WebhookOutbox.query(on: app.db).first())
            #expect(failed.attempts == 1)
            #expect(failed.lastError == "HTTP 503")
            #expect(try await dispatcher.deliverDue() == 0)  // not due again yet: backoff

            receiver.down.withLockedValue { $0 = false }
            let later = Date().addingTimeInterval(WebhookDispatcher.backoff(afterAttempt: 1) + 1)
            app.clock = VaultClock(now: { later })
            #expect(try await dispatcher.deliverDue() == 1)
            #expect(try await dispatcher.deliverDue() == 0)  // delivered once, not again

            let delivery = try #require(receiver.deliveries.withLockedValue { $0 }.first)
            #expect(delivery.type == "grant.created")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: Any])
            #expect(json["type"] as? String == "grant.created")
            #expect(((json["data"] as? [String: Any])?["grant"] as? [String: Any])?["account_identifier"] as? String == "alice@sandbox.test")
            #expect(!delivery.body.contains("access_token"))
            let expected = WebhookSignature.header(body: delivery.body, secret: secret, at: later)
            #expect(delivery.signature == expected)
        }
    }

    @Test("the signature is HMAC-SHA256 over timestamp and body")
    func signatureFormat() throws {
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let header = WebhookSignature.header(body: "{}", secret: "whsec_test", at: date)
        let mac = HMAC<SHA256>.authenticationCode(for: Data("1700000000.{}".utf8), using: SymmetricKey(data: Data("whsec_test".utf8)))
        #expect(header == "t=1700000000,v1=" + mac.map { String(format: "%02x", $0) }.joined())
    }

    @Test("backoff grows and is capped")
    func backoff() {
        #expect(WebhookDispatcher.backoff(afterAttempt: 1) == 5)
        #expect(WebhookDispatcher.backoff(afterAttempt: 2) == 10)
        #expect(WebhookDispatcher.backoff(afterAttempt: 20) == 3600)
    }
}

@Suite("Rotating the encryption key")
struct KeyRotationTests {
    @Test("every secret is re-encrypted under the new key and still opens; the old key can then go", arguments: TestDatabase.all)
    func rotates(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            _ = try await WebhookTests.configure(seeded, url: browser.baseURL + "/hooks", app: app)
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let before = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            let accessToken = try before.accessToken(using: app.sealer)
            let oldKey = app.sealer.activeKey

            let newKey = Sealer.Key(id: "new", key: SymmetricKey(size: .bits256))
            app.sealer = try Sealer(keys: [newKey, oldKey])
            let report = try await SecretRotation.reencryptAll(db: app.db, sealer: app.sealer)
            #expect(report.providerSecrets == 1)
            #expect(report.grantTokens == 1)
            #expect(report.webhookSecrets == 1)

            // Only the new key now: everything still opens, and start-up checks pass.
            app.sealer = try Sealer(keys: [newKey])
            try await prepareStorage(app)
            let after = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            #expect(Sealer.keyID(of: after.sealedAccessToken) == "new")
            #expect(try after.accessToken(using: app.sealer) == accessToken)
            let vault = VaultCalls(browser: browser, key: seeded.key)
            #expect(try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID]).status == 200)
        }
    }

    @Test("a token ciphertext copied onto another grant does not open there")
    func movedCiphertextFails() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let first = try await flow.connectGrant()
            let second = try await flow.connectGrant(account: "bob@sandbox.test")
            let a = try #require(try await Grant.find(UUID(uuidString: first), on: app.db))
            let b = try #require(try await Grant.find(UUID(uuidString: second), on: app.db))
            b.sealedAccessToken = a.sealedAccessToken
            #expect(throws: Sealer.Failure.authenticationFailed) { try b.accessToken(using: app.sealer) }
        }
    }
}
