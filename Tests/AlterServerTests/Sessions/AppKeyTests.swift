@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor
import VaporTesting

@Suite("App keys")
struct AppKeyTests {
    @Test("missing, malformed, unknown and revoked keys get 401 and store nothing", arguments: TestDatabase.all)
    func rejectsBadKeys(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            let revoked = try await seedApp(app)
            try await APIKey.query(on: app.db).filter(\.$app.$id == revoked.id).set(\.$revokedAt, to: Date()).update()

            let keys: [String?] = [nil, "", "ak_short", "not-a-key", SecretToken.generate(prefix: "ak_"), revoked.key, seeded.key + "x"]
            for key in keys {
                let response = try await app.mintSession(key: key, body: [:])
                #expect(response.status == .unauthorized, "\(key ?? "nil")")
                #expect(response.errorCode == "unauthorized")
            }
            #expect(try await app.sessionCount() == 0)
        }
    }

    @Test("a key in the query string is not accepted, even with a valid header")
    func rejectsKeyInQuery() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            let inQueryOnly = try await app.mintSession(key: nil, body: [:], query: "?api_key=\(seeded.key)")
            let both = try await app.mintSession(key: seeded.key, body: [:], query: "?key=\(seeded.key)")
            for response in [inQueryOnly, both] {
                #expect(response.status == .unauthorized)
                #expect(response.errorCode == "unauthorized")
            }
            #expect(try await app.sessionCount() == 0)
        }
    }

    @Test("a working key records when it was last used")
    func recordsLastUse() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            _ = try await app.mintSession(key: seeded.key, body: [:])
            let key = try #require(try await APIKey.query(on: app.db).filter(\.$app.$id == seeded.id).first())
            #expect(key.lastUsedAt != nil)
        }
    }

    @Test("a revoked key stops working within five seconds on an instance that had just verified it")
    func revocationReachesCache() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            #expect(try await app.mintSession(key: seeded.key, body: [:]).status == .created)
            try await APIKey.query(on: app.db).filter(\.$app.$id == seeded.id).set(\.$revokedAt, to: Date()).update()
            let later = Date().addingTimeInterval(AppKeyCache.lifetime + 1)
            app.clock = VaultClock(now: { later })

            let response = try await app.mintSession(key: seeded.key, body: [:])

            #expect(response.status == .unauthorized)
            #expect(response.errorCode == "unauthorized")
        }
    }
}
