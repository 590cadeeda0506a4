@testable import AlterServer
import Crypto
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// Security review F7 with `ALTER_ENCRYPTION_KEYS`: a running server cannot be given a new
/// key (its environment is fixed), so rotation is a documented order of rolling restarts.
/// This walks that order with a real `alter serve` process and the test's own instance on one
/// PostgreSQL, calling the API on both at every step.
@Suite(
    "Rotating ALTER_ENCRYPTION_KEYS by restarts",
    .enabled(if: TestDatabase.postgresURL != nil && FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct EnvKeyRotationTests {
    @Test("add the key second everywhere, then first everywhere, then rotate, then drop the old one: every instance serves at every step")
    func documentedOrder() async throws {
        try await withRunningApp(database: .postgres, adjust: { $0.recoversRefreshes = false }) { app, browser in
            guard case .postgres(let url) = app.alterConfiguration.database, let k1 = app.alterConfiguration.encryptionKeys else {
                throw ConfigurationError("the PostgreSQL lane")
            }
            let k2 = "k2:" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let call: [String: any Sendable] = ["method": "GET", "url": vault.calendarURL, "grant_id": grantID]
            /// The test's instance restarted with `ring`: the same start-up checks as `serve`.
            func restartHere(_ ring: String) async throws {
                app.sealer = try Sealer(keys: EncryptionKeys.parse(ring))
                try await prepareStorage(app)
            }
            func serves(_ instance: SecondInstance) async throws -> Int {
                try await withTestBrowser(baseURL: instance.baseURL) { try await VaultCalls(browser: $0, key: seeded.key).proxy(call).status }
            }
            let alter = AlterProcess()
            defer { alter.cleanUp() }
            var other = try await SecondInstance.start(sharing: app, encryptionKeys: k1)
            defer { other.terminate() }
            #expect(try await serves(other) == 200)

            // 1. The new key second (opens, does not seal), on every instance.
            await other.stop()
            other = try await SecondInstance.start(sharing: app, encryptionKeys: "\(k1),\(k2)")
            try await restartHere("\(k1),\(k2)")
            #expect(try await serves(other) == 200)

            // 2. The new key first, one instance at a time. This one now seals with k2 (a
            // refresh writes new tokens), and the other, still sealing with k1, opens them.
            try await restartHere("\(k2),\(k1)")
            RefreshTests.expire(app)
            #expect(try await vault.proxy(call).status == 200)
            let refreshed = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            #expect(Sealer.keyID(of: refreshed.sealedAccessToken) == "k2")
            #expect(try await serves(other) == 200)
            // An instance left with the old ring alone cannot open that: it refuses to start.
            let stale = try await KeyRingCheckTests.serve(alter, url: url, keys: k1)
            #expect(stale.exited && stale.error.contains("key ring lacks it"), "\(stale.error)")
            await other.stop()
            other = try await SecondInstance.start(sharing: app, encryptionKeys: "\(k2),\(k1)")
            #expect(try await serves(other) == 200)

            // 3. Re-seal everything under k2, while both serve.
            let rotated = try await alter.run(["keys", "rotate-encryption"], environment: ["DATABASE_URL": url, "ALTER_ENCRYPTION_KEYS": "\(k2),\(k1)"])
            #expect(rotated.status == 0, "\(rotated.error)")
            let configs = try await ProviderConfig.query(on: app.db).all()
            #expect(configs.allSatisfy { Sealer.keyID(of: $0.sealedClientSecret) == "k2" })
            #expect(try await Grant.query(on: app.db).all().allSatisfy { Sealer.keyID(of: $0.sealedAccessToken) == "k2" })
            #expect(try await vault.proxy(call).status == 200)

            // 4. The old key may go.
            await other.stop()
            other = try await SecondInstance.start(sharing: app, encryptionKeys: k2)
            try await restartHere(k2)
            #expect(try await serves(other) == 200)
            #expect(try await vault.proxy(call).status == 200)
            await other.stop()
        }
    }
}
