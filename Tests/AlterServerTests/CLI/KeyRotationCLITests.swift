@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("alter keys rotate-encryption while the server serves", .enabled(if: FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct KeyRotationCLITests {
    @Test("with the key file, a server started before the rotation keeps opening every secret, then seals with the new key")
    func runningServerPicksUpTheNewKey() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        try await withRunningApp(adjust: {
            $0.dataDirectory = alter.dataDirectory
            $0.database = .sqlite(path: alter.dataDirectory + "/alter.sqlite")
            $0.encryptionKeys = nil
        }) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let startKey = app.sealer.activeKey.id

            let rotated = try await alter.run(["keys", "rotate-encryption"])
            #expect(rotated.status == 0, "\(rotated.error)")
            let stored = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            let newKey = try #require(Sealer.keyID(of: stored.sealedAccessToken))
            #expect(newKey != startKey)

            // The grant's token is now sealed with a key this server did not start with.
            let call = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])
            #expect(call.status == 200, "\(call.body)")
            // And what it seals from now on uses the new key (a refresh writes new tokens).
            RefreshTests.expire(app)
            #expect(try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID]).status == 200)
            let refreshed = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            #expect(try await vault.sandbox()["refresh_count"] as? Int == 1)
            #expect(Sealer.keyID(of: refreshed.sealedAccessToken) == newKey)
        }
    }
}
