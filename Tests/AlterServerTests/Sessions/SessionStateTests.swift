@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing

@Suite("The Connect session's life")
struct SessionStateTests {
    struct Row: CustomTestStringConvertible, Sendable {
        let story: String
        let status: ConnectSession.Status
        /// Seconds before `now` that the token was first loaded; nil when never loaded.
        let loadedAgo: TimeInterval?
        /// Seconds from `now` to the token's expiry (negative: in the past).
        let expiresIn: TimeInterval
        var errorCode: String?
        let expected: ConnectSession.State

        var testDescription: String { story }
    }

    static let lifetime = ConnectSession.flowLifetime

    static let table: [Row] = [
        Row(story: "minted, not loaded, token fresh", status: .pending, loadedAgo: nil, expiresIn: 300, expected: .unused),
        Row(story: "not loaded when the token's TTL ends", status: .pending, loadedAgo: nil, expiresIn: 0, expected: .expired),
        Row(story: "not loaded, long past the TTL", status: .pending, loadedAgo: nil, expiresIn: -1, expected: .expired),
        Row(story: "loaded a moment ago", status: .pending, loadedAgo: 1, expiresIn: 300, expected: .inFlow),
        Row(story: "loaded, still in flow after the token's TTL", status: .pending, loadedAgo: 900, expiresIn: -300, expected: .inFlow),
        Row(story: "loaded exactly one flow lifetime ago", status: .pending, loadedAgo: lifetime, expiresIn: -lifetime, expected: .inFlow),
        Row(story: "loaded longer than the flow lifetime ago", status: .pending, loadedAgo: lifetime + 1, expiresIn: -lifetime, expected: .expired),
        Row(story: "completed, whatever the clock says", status: .completed, loadedAgo: lifetime * 10, expiresIn: -lifetime * 10, expected: .completed),
        Row(story: "failed with a provider error", status: .failed, loadedAgo: 5, expiresIn: 300, errorCode: "oauth_denied", expected: .failed),
        Row(story: "ended because its time ran out", status: .failed, loadedAgo: lifetime + 1, expiresIn: -1, errorCode: "session_expired", expected: .expired),
    ]

    @Test("a session's state follows from its row and the clock", arguments: table)
    func state(row: Row) {
        let now = Date(timeIntervalSince1970: 2_000_000_000)
        let state = ConnectSession.state(
            status: row.status, consumedAt: row.loadedAgo.map { now.addingTimeInterval(-$0) }, expiresAt: now.addingTimeInterval(row.expiresIn),
            errorCode: row.errorCode, now: now)
        #expect(state == row.expected)
    }

    /// Two requests that loaded the same pending row (two callbacks, a callback and Done, a
    /// callback and an expiry) each try to end it at once.
    @Test("two endings of one session race: exactly one wins and the loser sees the winner's ending", arguments: TestDatabase.all)
    func endingsRace(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            for round in 0..<8 {
                let stored = try await storeSession(app, appID: seeded.id, providers: ["sandbox"], status: .pending)
                let id = try stored.requireID()
                let now = Date()
                let completer = try #require(try await ConnectSession.find(id, on: app.db))
                let failer = try #require(try await ConnectSession.find(id, on: app.db))
                let store = SessionStore(db: app.db)
                let error = round.isMultiple(of: 2) ? ConnectSession.expiredError : APIError(.oauthDenied, "Access was not granted.")
                async let completed = store.complete(completer, at: now)
                async let failed = store.fail(failer, error, at: now)
                let (completeWon, failWon) = try await (completed, failed)

                #expect(completeWon != failWon, "round \(round): exactly one ending wins")
                let row = try #require(try await ConnectSession.find(id, on: app.db))
                #expect(row.status == (completeWon ? .completed : .failed))
                #expect(row.errorCode == (completeWon ? nil : error.code.rawValue))
                #expect(completer.status == row.status && failer.status == row.status)
                #expect(try await store.complete(completer, at: now) == false, "an ended session stays ended")
            }
        }
    }

    @Test("a token is consumed once; an expired token cannot be consumed", arguments: TestDatabase.all)
    func consumeOnce(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            let store = SessionStore(db: app.db)
            let session = try await storeSession(app, appID: seeded.id, providers: ["sandbox"], status: .pending)
            let twin = try #require(try await ConnectSession.find(session.requireID(), on: app.db))
            async let first = store.consume(session, browserHash: "a", nonce: nil, mode: .popup, at: Date())
            async let second = store.consume(twin, browserHash: "b", nonce: nil, mode: .redirect, at: Date())
            let (one, two) = try await (first, second)
            #expect(one != two)
            let row = try #require(try await ConnectSession.find(session.requireID(), on: app.db))
            #expect(row.browserHash == (one ? "a" : "b"))
            #expect(row.mode == (one ? .popup : .redirect))

            let late = try await storeSession(app, appID: seeded.id, providers: ["sandbox"], status: .pending)
            #expect(try await store.consume(late, browserHash: "c", nonce: nil, mode: .popup, at: late.expiresAt) == false)
            #expect(late.consumedAt == nil)
        }
    }
}
