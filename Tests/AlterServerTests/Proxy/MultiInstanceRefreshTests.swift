@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// A second `alter serve` process sharing the test app's PostgreSQL database.
struct SecondInstance {
    let process: Process
    let baseURL: String
    /// Where its providers (the sandbox) are.
    let providersURL: String

    /// - Parameters:
    ///   - ownProviders: the sandbox this instance calls is its own (it dies with the process)
    ///     rather than the first instance's.
    ///   - encryptionKeys: its `ALTER_ENCRYPTION_KEYS` (default: the first instance's).
    static func start(sharing app: Application, ownProviders: Bool = false, encryptionKeys: String? = nil) async throws -> SecondInstance {
        guard case .postgres(let url) = app.alterConfiguration.database, let keys = encryptionKeys ?? app.alterConfiguration.encryptionKeys else {
            throw ConfigurationError("the second instance needs the PostgreSQL lane")
        }
        let port = try freePort()
        // Same public URL as the first instance: providers (the sandbox) live there.
        let providersURL = ownProviders ? "http://localhost:\(port)" : app.alterConfiguration.publicURL
        let process = try launch(
            url: url, keys: keys, port: port, dataDirectory: app.alterConfiguration.dataDirectory + "/second",
            extra: ["ALTER_PUBLIC_URL": providersURL, "ALTER_SANDBOX": "1"])
        let instance = SecondInstance(process: process, baseURL: "http://127.0.0.1:\(port)", providersURL: providersURL)
        let probe = TestBrowser(baseURL: instance.baseURL)
        defer { Task { try? await probe.close() } }
        for _ in 0..<100 {
            if (try? await probe.get("/healthz"))?.status == 200 { return instance }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw ConfigurationError("the second instance did not start")
    }

    /// `alter serve` on 127.0.0.1:`port` against the PostgreSQL at `url`, with `keys`.
    static func launch(
        url: String, keys: String, port: Int, dataDirectory: String, extra: [String: String] = [:], standardError: Any = FileHandle.nullDevice
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AlterProcess.binary)
        process.arguments = ["serve", "--hostname", "127.0.0.1", "--port", String(port)]
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = url
        environment["ALTER_ENCRYPTION_KEYS"] = keys
        environment["ALTER_DATA_DIR"] = dataDirectory
        environment["LOG_LEVEL"] = "warning"
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = standardError
        try process.run()
        return process
    }

    /// SIGTERM, then waits for the exit without holding a thread: `waitUntilExit` blocked one
    /// of the cooperative pool's two for each instance's shutdown (about 1.5 s in debug), and a
    /// few such stops at once stalled every other suite's timers and SQLite work (a 300 ms
    /// client timeout measured 15 s; eight SQLite writers timed out waiting for connections).
    func stop() async {
        process.terminate()
        await Self.exit(of: process)
    }

    /// `kill -9`: no shutdown, no flush, open transactions cut off.
    func kill() async {
        Foundation.kill(process.processIdentifier, SIGKILL)
        await Self.exit(of: process)
    }

    /// For `defer` (which cannot await), on the paths where the test already failed: ends the
    /// process without waiting for it.
    func terminate() {
        if process.isRunning { process.terminate() }
    }

    static func exit(of process: Process) async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }
}

@Suite("Refresh across server instances", .enabled(if: TestDatabase.postgresURL != nil && FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct MultiInstanceRefreshTests {
    @Test("two server processes on one PostgreSQL: 200 simultaneous calls on an expired grant make exactly one refresh")
    func oneRefreshAcrossInstances() async throws {
        try await withRunningApp(database: .postgres) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let vault = VaultCalls(browser: browser, key: seeded.key)
            // A 3 s token is due for refresh once a fifth of its life is left (the second
            // instance runs on the real clock), and valid while the connect flow reads userinfo.
            try await vault.control(["access_token_ttl": 3])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let connected = ContinuousClock.now
            try await vault.control(["access_token_ttl": 3600])
            let second = try await SecondInstance.start(sharing: app)
            defer { second.terminate() }
            try await Task.sleep(until: connected + .milliseconds(2500))
            // One connection per call, so that the 200 calls really are simultaneous (and none
            // waits in the test's own connection queue).
            let (before, statuses) = try await withTestBrowser(baseURL: browser.baseURL, connectionsPerHost: 100) { first in
                try await withTestBrowser(baseURL: second.baseURL, connectionsPerHost: 100) { other in
                    let vaults = [VaultCalls(browser: first, key: seeded.key), VaultCalls(browser: other, key: seeded.key)]
                    let before = try #require(try await vault.sandbox()["refresh_count"] as? Int)
                    let statuses = try await withThrowingTaskGroup(of: String.self) { group in
                        for index in 0..<200 {
                            let client = vaults[index % 2]
                            group.addTask {
                                var page = try await client.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])
                                // A caller that waited longer than the refresh wait limit (a loaded
                                // machine) is told to retry; it must then get the refreshed token.
                                for _ in 0..<3 where page.status == 409 && page.body.contains("token_refresh_in_progress") {
                                    try await Task.sleep(for: .milliseconds(500))
                                    page = try await client.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])
                                }
                                return page.status == 200 ? "200" : "\(page.status) \(page.body.prefix(160))"
                            }
                        }
                        return try await group.reduce(into: [String]()) { $0.append($1) }
                    }
                    return (before, statuses)
                }
            }

            #expect(statuses.count == 200)
            #expect(statuses.allSatisfy { $0 == "200" }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
            #expect(try await vault.sandbox()["refresh_count"] as? Int == before + 1)
            await second.stop()
        }
    }
}
