@testable import AlterServer
import Crypto
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("Re-encryption while a server writes")
struct RotationWhileServingTests {
    @Test("on SQLite, re-encrypting while the other connection holds the write lock runs each transaction again and finishes")
    func rotationWaitsForTheWriter() async throws {
        try await withApp(database: .sqlite) { app in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            seeded.app.sealedWebhookSecret = try app.sealer.seal("whsec-test", row: seeded.id.uuidString, field: ClientApp.webhookSecretField)
            try await seeded.app.update(on: app.db)
            let fresh = Sealer.Key(id: "next", key: SymmetricKey(size: .bits256))
            let both = try Sealer(keys: [fresh, app.sealer.activeKey])
            // `alter keys rotate-encryption` runs beside a serving instance: the serving one
            // writes (audit, refreshes) while the rotation reads and rewrites rows.
            let report = try await whileTheOtherConnectionWrites(app) { db, _ in
                try await SecretRotation.reencryptAll(db: db, sealer: both)
            }
            #expect(report.providerSecrets == 1)
            #expect(report.webhookSecrets == 1)
            let config = try #require(try await ProviderConfig.query(on: app.db).first())
            #expect(Sealer.keyID(of: config.sealedClientSecret) == "next")
            let stored = try #require(try await ClientApp.find(seeded.id, on: app.db))
            #expect(try Sealer(keys: [fresh]).open(try #require(stored.sealedWebhookSecret), row: seeded.id.uuidString, field: ClientApp.webhookSecretField) == "whsec-test")
        }
    }
}
