@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import PostgresKit
import Testing
import Vapor

/// Crash safety of the OAuth callback (issue 14, crash test (a)): `kill -9` of the server
/// process that is handling a callback, with other instances on the same PostgreSQL.
@Suite("A server killed in the middle of an OAuth callback", .enabled(if: TestDatabase.postgresURL != nil && FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct CallbackCrashTests {
    @Test("kill -9 during the code exchange and during the final commit: both attempts read as failed within seconds, another instance's live attempt completes, and no stored grant is missing from its session's result")
    func killedCallbacks() async throws {
        try await withRunningApp(database: .postgres) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            // Three sessions brought to the moment the provider sends the browser back.
            let (exchanging, exchangingURL) = try await FlowRejectionTests.callbackURL(flow)
            let (live, liveURL) = try await FlowRejectionTests.callbackURL(flow)
            let (committing, committingURL) = try await FlowRejectionTests.callbackURL(flow)
            async let startedDoomed = SecondInstance.start(sharing: app)
            async let startedOther = SecondInstance.start(sharing: app)
            let (doomed, other) = try await (startedDoomed, startedOther)
            defer { other.terminate() }
            guard case .postgres(let url) = app.alterConfiguration.database else { throw ConfigurationError("the PostgreSQL lane") }
            func on(_ instance: SecondInstance, _ callback: String) -> Task<Void, Never> {
                let path = callback.replacingOccurrences(of: browser.baseURL, with: "")
                return Task { _ = try? await browser.get(instance.baseURL + path) }
            }

            // 1. Held in its last step: this test holds the session's row, so the callback's
            //    write of the session's completion waits (after the grant, in the old code, had
            //    already committed on its own).
            let lock = try await PostgresLock.hold(rowOf: try await Self.sessionID(committing, app: app), url: url)
            let committingCall = on(doomed, committingURL)
            try await PostgresLock.waitForWaiter(url: url)
            // 2. Held at the provider: the sandbox's token endpoint answers after 8.5 s.
            _ = try await browser.postJSON("/sandbox/control", ["slow_ms": 8500])
            let exchangingCall = on(doomed, exchangingURL)
            let liveCall = on(other, liveURL)
            for token in [exchanging, live] { try await Self.waitUntilConsumed(token, app: app) }
            try await Task.sleep(for: .milliseconds(300))

            await doomed.kill()
            #expect(doomed.process.terminationReason == .uncaughtSignal)
            let killed = ContinuousClock.now
            // The database drops a dead client's connections (a blocked one only once it next
            // reads from it); do it now, then let go of the row.
            try await PostgresLock.terminateWaiters(url: url)
            try await lock.release()
            async let restarted = SecondInstance.start(sharing: app)

            // Within seconds both interrupted attempts read as failed, while the other
            // instance's attempt, in the same provider call, is still in progress.
            var outcomes: [String: String] = [:]
            while ContinuousClock.now - killed < .seconds(AttemptLease.duration + 8) {
                for token in [exchanging, committing] where outcomes[token] == nil {
                    let status = try await flow.result(token).json["status"] as? String
                    if status != "pending" { outcomes[token] = status }
                }
                if outcomes.count == 2 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let settledAfter = ContinuousClock.now - killed
            #expect(outcomes == [exchanging: "failed", committing: "failed"], "after \(settledAfter)")
            #expect(settledAfter < .seconds(AttemptLease.duration + 2))
            let elsewhere = try await flow.result(live).json
            #expect(elsewhere["status"] as? String == "pending")
            #expect(elsewhere["oauth_in_progress"] as? Bool == true, "another instance's live attempt is not failed")

            // After the restart, read through the restarted server: the same endings.
            let second = try await restarted
            defer { second.terminate() }
            for token in [exchanging, committing] {
                let read = try await browser.get(second.baseURL + "/v1/connect/sessions/result", headers: [("Authorization", "Bearer \(token)")]).json
                let error = read["error"] as? [String: Any]
                #expect(read["status"] as? String == "failed")
                #expect(error?["code"] as? String == "internal_error")
                #expect((error?["details"] as? [String: String])?["reason"] == "interrupted")
            }
            _ = await (exchangingCall.value, committingCall.value)

            // The live attempt finishes on its instance with its grant.
            await liveCall.value
            let completed = try await flow.result(live).json
            #expect(completed["status"] as? String == "completed")
            #expect((completed["grants"] as? [[String: Any]])?.count == 1)
            _ = try await browser.postJSON("/sandbox/control", ["slow_ms": 0])

            // No grant is stored that its session's result does not report.
            #expect(try await Grant.query(on: app.db).count() == 1)
            for token in [exchanging, committing, live] {
                let linked = try await SessionGrant.query(on: app.db).filter(\.$session.$id == (try await Self.sessionID(token, app: app))).count()
                let reported = (try await flow.result(token).json["grants"] as? [[String: Any]])?.count ?? 0
                #expect(linked == reported, "session of \(token.prefix(8))")
            }
            await second.stop()
            await other.stop()
        }
    }

    static func sessionID(_ token: String, app: Application) async throws -> UUID {
        try #require(try await ConnectSession.find(token: token, on: app.db)).requireID()
    }

    static func waitUntilConsumed(_ token: String, app: Application) async throws {
        let id = try await sessionID(token, app: app)
        for _ in 0..<200 {
            if try await OAuthAttempt.query(on: app.db).filter(\.$session.$id == id).filter(\.$consumedAt != nil).count() > 0 { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw ConfigurationError("the callback never consumed its state")
    }
}

/// A row lock held by the test on its own PostgreSQL connection, to stop a server process
/// exactly where it writes that row.
struct PostgresLock {
    let connection: PostgresConnection

    /// `FOR NO KEY UPDATE`: blocks updates of the row, not inserts that reference it.
    static func hold(rowOf sessionID: UUID, url: String) async throws -> PostgresLock {
        let connection = try await connect(url)
        try await connection.query(PostgresQuery(unsafeSQL: "BEGIN"), logger: logger)
        try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT id FROM \(ConnectSession.schema) WHERE id = '\(sessionID.uuidString.lowercased())' FOR NO KEY UPDATE"), logger: logger)
        return PostgresLock(connection: connection)
    }

    func release() async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "ROLLBACK"), logger: Self.logger)
        try await connection.close()
    }

    /// Until some other connection of the database waits for a lock.
    static func waitForWaiter(url: String) async throws {
        for _ in 0..<400 {
            if try await count("SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", url: url) > 0 { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw ConfigurationError("no server connection ever waited for the held row")
    }

    static func terminateWaiters(url: String) async throws {
        _ = try await count(
            "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", url: url)
    }

    private static func count(_ sql: String, url: String) async throws -> Int {
        let connection = try await connect(url)
        defer { Task { try? await connection.close() } }
        var value = 0
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) { value = row }
        return value
    }

    private static let logger = Logger(label: "test-postgres-lock")

    private static func connect(_ url: String) async throws -> PostgresConnection {
        let configuration = try SQLPostgresConfiguration(url: url)
        return try await PostgresConnection.connect(
            configuration: .init(
                host: configuration.coreConfiguration.host ?? "127.0.0.1", port: configuration.coreConfiguration.port ?? 5432,
                username: configuration.coreConfiguration.username, password: configuration.coreConfiguration.password,
                database: configuration.coreConfiguration.database, tls: .disable),
            id: 7, logger: logger)
    }
}
