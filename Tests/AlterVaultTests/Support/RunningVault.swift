@testable import AlterServer
import AlterVault
import AsyncHTTPClient
import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import Vapor

// The SDK is tested against a real Alter Vault listening on a loopback port, as an app
// backend would reach it. These helpers copy the few ideas they need from AlterServerTests'
// Support (withRunningApp, seedApp): test targets cannot share sources.

/// A vault on a real port, with one app (key + both sandbox providers) and a clock tests move.
struct RunningVault {
    let app: Application
    let baseURL: String
    let appKey: String
    let appID: UUID
    let clock: MovableClock
    let http: HTTPClient

    /// The SDK as the app's backend would configure it: with the SDK's own HTTP client.
    func sdk(caller: String? = "sdk-tests", key: String? = nil) -> AlterVault {
        AlterVault(apiKey: key ?? appKey, caller: caller, baseURL: baseURL)
    }

    /// `POST /sandbox/control`: flips the sandbox provider's switches, e.g. `["revoke_refresh": true]`.
    func sandboxControl(_ switches: [String: any Sendable]) async throws {
        var request = HTTPClientRequest(url: baseURL + "/sandbox/control")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: switches)))
        let response = try await http.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { throw ConfigurationError("sandbox control answered \(response.status)") }
    }

    func sessionCount() async throws -> Int {
        try await AlterServer.ConnectSession.query(on: app.db).count()
    }
}

/// A fresh vault (SQLite in a temporary directory, sandbox on) served on a free loopback
/// port, torn down on every path.
func withRunningVault(_ body: (RunningVault) async throws -> Void) async throws {
    let port = try freePort()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alter-sdk-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let encryptionKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    let configuration = AlterConfiguration(
        publicURL: "http://localhost:\(port)", dataDirectory: directory, encryptionKeys: "test:\(encryptionKey)",
        port: port, sandboxEnabled: true)

    let app = try await Application.make(.testing)
    app.logger.logLevel = .warning
    let clock = MovableClock()
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        app.clock = VaultClock(now: { clock.now })
        try await configure(app, with: configuration)
        try await prepareStorage(app)
        let (appID, key) = try await seedApp(app)
        try await app.asyncBoot()
        try await app.server.start(address: .hostname("127.0.0.1", port: port))
        try await body(RunningVault(app: app, baseURL: "http://localhost:\(port)", appKey: key, appID: appID, clock: clock, http: http))
    } catch {
        await app.server.shutdown()
        try? await http.shutdown()
        try? await app.asyncShutdown()
        throw error
    }
    await app.server.shutdown()
    try await http.shutdown()
    try await app.asyncShutdown()
}

/// An app whose website is `http://localhost:4001`, a live key and both sandbox providers.
private func seedApp(_ application: Application) async throws -> (UUID, String) {
    let app = ClientApp(name: "SDK test app", websiteURL: "http://localhost:4001")
    try await app.create(on: application.db)
    let (key, secret) = APIKey.make(for: app.id!)
    try await key.create(on: application.db)
    for provider in ["sandbox", "sandbox-mail"] {
        let config = ProviderConfig()
        config.id = UUID()
        config.$app.id = app.id!
        config.provider = provider
        config.clientID = "client-\(provider)"
        try config.setClientSecret("secret-\(provider)", using: application.sealer)
        config.scopes = []
        config.enabled = true
        try await config.create(on: application.db)
    }
    return (app.id!, secret)
}

/// The vault's clock (and so the sandbox provider's): starts at the real time, moves only
/// when a test says, so expiry tests do not sleep.
final class MovableClock: Sendable {
    private let current = NIOLockedValueBox(Date())

    var now: Date { current.withLockedValue { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLockedValue { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// Ports this test target hands out: below Linux's ephemeral range (32768+), where outgoing
/// connections take their local ports (a port from `bind(0)` could be taken by one of them
/// before the vault bound it: "Address already in use"), and below the 20,000–30,000 of
/// AlterServerTests, which runs in the same process.
private let nextPort = NIOLockedValueBox(Int.random(in: 10_000...15_000))

/// A port nobody listens on right now, that no other test of this target was given.
func freePort() throws -> Int {
    for _ in 0..<200 {
        let candidate = nextPort.withLockedValue { value -> Int in
            value += 1
            return value
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: UInt16(candidate))
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        if withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }) == 0 { return candidate }
    }
    throw ConfigurationError("no free test port")
}

/// A socket that accepts connections (the kernel completes the handshake) but never answers:
/// a vault that hangs. Closed when `body` returns.
func withSilentListener(_ body: (Int) async throws -> Void) async throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    guard bound == 0, listen(fd, 8) == 0 else { throw ConfigurationError("cannot listen on a test port") }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    try await body(Int(UInt16(bigEndian: address.sin_port)))
}

private func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = port.bigEndian
    return address
}
