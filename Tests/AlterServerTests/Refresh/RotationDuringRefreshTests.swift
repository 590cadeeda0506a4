@testable import AlterServer
import Crypto
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("Key rotation while the server refreshes")
struct RotationDuringRefreshTests {
    /// PostgreSQL, where instances share the database and a rotation runs while they serve
    /// (security review F7). SQLite is one instance (there the same run meets SQLITE_BUSY in
    /// the rotation's per-table transactions: a rotation on SQLite is for a quiet server).
    @Test("refreshes at a rotating provider during a key rotation lose no refresh token; every grant keeps working",
        .enabled(if: TestDatabase.postgresURL != nil))
    func refreshesDuringRotation() async throws {
        try await withRunningApp(database: .postgres) { app, browser in
            // Six grants: the sandbox's two accounts, each connected to three apps.
            var grants: [(vault: VaultCalls, id: String)] = []
            for _ in 0..<3 {
                let seeded = try await seedApp(app, providers: ["sandbox"])
                let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
                for account in ["alice@sandbox.test", "bob@sandbox.test"] {
                    grants.append((VaultCalls(browser: browser, key: seeded.key), try await flow.connectGrant(account: account)))
                }
            }
            // The server now runs with the new key first (the old one stays to open old values).
            let newKey = Sealer.Key(id: "rotated", key: SymmetricKey(size: .bits256))
            app.sealer = try Sealer(keys: [newKey, app.sealer.activeKey])
            RefreshTests.expire(app)

            // Every grant refreshes (the sandbox rotates refresh tokens) while the rotation
            // runs over and over, so its reads and writes interleave with the refreshes' commits.
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for (vault, grantID) in grants {
                    group.addTask { [try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID]).status] }
                }
                group.addTask {
                    for _ in 0..<4 { _ = try await SecretRotation.reencryptAll(db: app.db, sealer: app.sealer) }
                    return []
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            _ = try await SecretRotation.reencryptAll(db: app.db, sealer: app.sealer)

            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let stored = try await Grant.query(on: app.db).all()
            #expect(stored.count == grants.count && stored.allSatisfy { $0.status == .active })
            #expect(stored.allSatisfy { Sealer.keyID(of: $0.sealedAccessToken) == "rotated" && Sealer.keyID(of: $0.sealedRefreshToken ?? "") == "rotated" })
            // The stored refresh tokens are the live ones: the next refresh of each succeeds
            // (an old, already-rotated refresh token would get invalid_grant and revoke the grant).
            let later = Date().addingTimeInterval(5 * 3600)
            app.clock = VaultClock(now: { later })
            for (vault, grantID) in grants {
                let response = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])
                #expect(response.status == 200, "\(response.body)")
            }
            #expect(try await grants[0].vault.sandbox()["refresh_count"] as? Int == 2 * grants.count)
        }
    }
}
