@testable import AlterServer
import Fluent
import FluentKit
import FluentPostgresDriver
import Foundation
import SQLKit
import SQLiteKit
import Testing
import Vapor

@Suite("The proxy's grant read")
struct GrantReadTests {
    @Test("a grant read with SQLKit equals Fluent's read of it in every field, and only its app finds it", arguments: TestDatabase.all)
    func readMatchesFluent(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            let other = try await seedApp(app)
            let raw = try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "ada@sandbox.test", accessToken: "token-1")
            let id = try #require(UUID(uuidString: raw))
            // Every optional field set, so a column the read forgets shows up as a difference.
            let stored = try #require(try await Grant.find(id, on: app.db))
            try stored.store(ProviderTokens(accessToken: "token-2", refreshToken: "refresh-2", expiresAt: Date(timeIntervalSince1970: 2_000_000_000)), using: app.sealer, at: Date())
            stored.refreshedAt = Date(timeIntervalSince1970: 1_900_000_000)
            stored.variables = ["instance_url": "https://eu.example.com"]
            stored.accountDisplayName = "Ada"
            stored.accountEmail = "ada@sandbox.test"
            stored.scopes = ["profile", "email"]
            try await stored.save(on: app.db)

            let fluent = try GrantRecord(try #require(try await Grant.find(id, on: app.db)))
            let read = try #require(try await Grant.read(id: id, appID: seeded.id, on: app.db))
            // A shipped provider's grant: no custom provider of that id beside it; a record
            // made from a model did not look.
            #expect(read.customProviderAtRead == .absent)
            #expect(fluent.customProviderAtRead == .notRead)
            var expected = fluent
            expected.customProviderAtRead = .absent
            #expect(read == expected)
            #expect(read.expiresAt == Date(timeIntervalSince1970: 2_000_000_000) && read.variables == ["instance_url": "https://eu.example.com"])
            #expect(read.scopes == ["profile", "email"] && read.sealedRefreshToken != nil && read.refreshedAt != nil && read.tokensStoredAt != nil)
            #expect(try read.accessToken(using: app.sealer) == "token-2")
            #expect(try await Grant.read(id: id, appID: other.id, on: app.db) == nil)
        }
    }

    @Test("on SQLite the grant read runs on the calling thread, equals the driver's, and sees every commit at once")
    func directReadOnSQLite() async throws {
        try await withApp(database: .sqlite) { app in
            let direct = try #require(app.sqliteDirectReads, "an SQLite file app has direct reads")
            let seeded = try await seedApp(app)
            let raw = try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "ada@sandbox.test", accessToken: "token-1")
            let id = try #require(UUID(uuidString: raw))
            let stored = try #require(try await Grant.find(id, on: app.db))
            stored.variables = ["instance_url": "https://eu.example.com"]
            stored.scopes = ["profile", "email"]
            try stored.store(ProviderTokens(accessToken: "token-2", refreshToken: "refresh-2", expiresAt: Date(timeIntervalSince1970: 2_000_000_000)), using: app.sealer, at: Date())
            try await stored.save(on: app.db)

            // The direct connection answers itself (nil would mean the read fell back to the driver).
            let rows = try #require(direct.rows("SELECT id, status FROM grants WHERE id = ?", binds: [id]))
            #expect(rows.count == 1)
            #expect(try rows.first?.decode(column: "id", as: UUID.self) == id)

            let viaDriver = try #require(try await Grant.read(id: id, appID: seeded.id, on: app.db))
            let viaDirect = try #require(try await Grant.read(id: id, appID: seeded.id, on: app.db, direct: direct))
            #expect(viaDirect == viaDriver)
            #expect(try viaDirect.accessToken(using: app.sealer) == "token-2")
            #expect(viaDirect.customProviderAtRead == .absent)
            #expect(try await Grant.read(id: id, appID: UUID(), on: app.db, direct: direct) == nil)

            // A commit on the driver's connections is seen by the very next direct read: a
            // revoked or re-sealed grant never serves one more call.
            stored.status = .error
            try await stored.save(on: app.db)
            #expect(try await Grant.read(id: id, appID: seeded.id, on: app.db, direct: direct)?.status == .error)
            try await stored.delete(on: app.db)
            #expect(try await Grant.read(id: id, appID: seeded.id, on: app.db, direct: direct) == nil)

            // Inside a transaction the read goes through the transaction and sees its own write.
            let again = try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "bob@sandbox.test", accessToken: "token-3")
            let againID = try #require(UUID(uuidString: again))
            let seen = try await app.db.transaction { db -> Grant.Status? in
                try await Grant.query(on: db).filter(\.$id == againID).set(\.$status, to: .error).update()
                return try await Grant.read(id: againID, appID: seeded.id, on: db, direct: direct)?.status
            }
            #expect(seen == .error)
        }
    }

    @Test("an in-memory SQLite database and a PostgreSQL app have no direct reads")
    func noDirectReadsElsewhere() async throws {
        #expect(SQLiteDirectReads(path: ":memory:") == nil)
        #expect(SQLiteDirectReads(path: "") == nil)
        guard TestDatabase.postgresURL != nil else { return }
        try await withApp(database: .postgres) { app in #expect(app.sqliteDirectReads == nil) }
    }

    @Test("on PostgreSQL the grant read is a statement prepared once per connection, read in a transaction too")
    func preparedOnPostgres() async throws {
        guard TestDatabase.postgresURL != nil else { return }
        try await withApp(database: .postgres) { app in
            let seeded = try await seedApp(app)
            let raw = try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "ada@sandbox.test", accessToken: "token-1")
            let id = try #require(UUID(uuidString: raw))
            let fluent = try GrantRecord(try #require(try await Grant.find(id, on: app.db)))
            // One connection for the whole check: PostgreSQL's list of prepared statements is per connection.
            let (read, again, statements) = try await app.db.transaction { db in
                let sql = try #require(db as? any SQLDatabase)
                let read = try await Grant.read(id: id, appID: seeded.id, on: db)
                let again = try await Grant.read(id: id, appID: seeded.id, on: db)
                let statements = try await sql.raw("SELECT name FROM pg_prepared_statements").all().map { try $0.decode(column: "name", as: String.self) }
                return (read, again, statements)
            }
            #expect(statements.filter { $0 == "alter_grant_read" }.count == 1)
            var expected = fluent
            expected.customProviderAtRead = .absent
            #expect(read == expected && again == expected)
        }
    }

    @Test("on PostgreSQL a prepared read the server refuses (a migration changed a column) is read through the driver, on a fresh connection after it")
    func preparedReadFallsBack() async throws {
        guard TestDatabase.postgresURL != nil else { return }
        try await withApp(database: .postgres) { app in
            let seeded = try await seedApp(app)
            let raw = try await storeGrant(app, appID: seeded.id, provider: "sandbox", account: "ada@sandbox.test", accessToken: "token-1")
            let id = try #require(UUID(uuidString: raw))
            // One event loop's pool, used by one caller at a time: the same connection each time.
            let db = try #require(app.databases.database(.psql, logger: app.logger, on: app.eventLoopGroup.any()))
            let sql = try #require(db as? any SQLDatabase)
            func backend() async throws -> Int { try #require(try await sql.raw("SELECT pg_backend_pid() AS pid").first()?.decode(column: "pid", as: Int.self)) }
            let first = try await Grant.read(id: id, appID: seeded.id, on: db)
            #expect(first?.provider == "sandbox")
            let before = try await backend()
            #expect(try await backend() == before, "the pool hands out its one connection")
            // The statement's result columns change type: PostgreSQL refuses the cached plan.
            try await sql.raw("ALTER TABLE grants ALTER COLUMN provider TYPE varchar(200)").run()
            let afterChange = try await Grant.read(id: id, appID: seeded.id, on: db)
            #expect(afterChange == first)
            #expect(try await backend() != before, "the connection that kept the refused statement was closed")
            // Prepared afresh on the new connection.
            #expect(try await Grant.read(id: id, appID: seeded.id, on: db) == first)
        }
    }

    @Test("a bind on the direct connection is encoded as the driver's encoder encodes it, a UUID included")
    func bindsAsTheDriver() throws {
        let direct = try #require(SQLiteDirectReads(path: "/nonexistent/never-opened.sqlite"))
        let driver = SQLiteDataEncoder()
        for id in (0..<100).map({ _ in UUID() }) + [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))] {
            #expect(try direct.encode(id) == driver.encode(id))
        }
        #expect(try direct.encode("sandbox") == driver.encode("sandbox"))
        #expect(try direct.encode(42) == driver.encode(42))
    }

    @Test("a custom provider's grant is read with its app's definition of that provider, and another app's never", arguments: TestDatabase.all)
    func readsCustomProvider(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            let other = try await seedApp(app)
            for (appID, privateNetwork) in [(seeded.id, true), (other.id, false)] {
                let custom = CustomProvider()
                custom.$app.id = appID
                try custom.store(try ProviderCustomTests.input().entry(discovered: nil))
                custom.allowsPrivateNetwork = privateNetwork
                try await custom.save(on: app.db)
            }
            let stored = try #require(try await CustomProvider.query(on: app.db).filter(\.$app.$id == seeded.id).first())
            let raw = try await storeGrant(app, appID: seeded.id, provider: stored.provider, account: "ada@idp.test", accessToken: "token-1")
            let id = try #require(UUID(uuidString: raw))
            let read = try #require(try await Grant.read(id: id, appID: seeded.id, on: app.db))
            #expect(read.customProviderAtRead == .found(StoredCustomProvider(definition: stored.definition, allowsPrivateNetwork: true)))
            let entry = try #require(try await app.providerCatalog.provider(of: read, on: app.db))
            #expect(entry.id == stored.provider && entry.isCustom && entry.allowsPrivateNetwork)

            // Removed after the read: the next read finds no provider (the call answers grant_not_found).
            try await stored.delete(on: app.db)
            let again = try #require(try await Grant.read(id: id, appID: seeded.id, on: app.db))
            #expect(again.customProviderAtRead == .absent)
            #expect(try await app.providerCatalog.provider(of: again, on: app.db) == nil)
        }
    }
}
