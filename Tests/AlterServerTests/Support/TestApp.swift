@testable import AlterServer
import FluentKit
import FluentPostgresDriver
import Foundation
import PostgresKit
import Testing
import Vapor
import VaporTesting

/// Which database a test runs against. PostgreSQL runs only when `ALTER_TEST_POSTGRES_URL`
/// is set (scripts/test starts a throwaway server and sets it).
enum TestDatabase: String, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["ALTER_TEST_POSTGRES_URL"] }

    /// SQLite always; PostgreSQL too when a test server is available.
    static var all: [TestDatabase] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }
}

/// A fresh, migrated app on its own database, torn down on every path.
func withApp(
    database: TestDatabase = .sqlite,
    sandbox: Bool = true,
    port: Int = 0,
    adjust: (inout AlterConfiguration) -> Void = { _ in },
    _ body: (Application) async throws -> Void
) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alter-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var databaseName: String?
    var storage: AlterConfiguration.Database?
    if database == .postgres, let url = TestDatabase.postgresURL {
        let name = "alter_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await PostgresAdmin.run("CREATE DATABASE \(name)", url: url)
        databaseName = name
        storage = .postgres(url: PostgresAdmin.url(url, database: name))
    }
    let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    var configuration = AlterConfiguration(
        publicURL: "http://localhost:\(port == 0 ? 4000 : port)", dataDirectory: directory, database: storage,
        encryptionKeys: "test:\(key)", port: port, sandboxEnabled: sandbox)
    configuration.deliversWebhooks = false
    adjust(&configuration)

    let app = try await Application.make(.testing)
    app.logger.logLevel = .warning
    do {
        try await configure(app, with: configuration)
        try await prepareStorage(app)
        try await body(app)
    } catch {
        try? await app.asyncShutdown()
        await cleanUp(directory: directory, databaseName: databaseName)
        throw error
    }
    try await app.asyncShutdown()
    await cleanUp(directory: directory, databaseName: databaseName)
}

private func cleanUp(directory: String, databaseName: String?) async {
    try? FileManager.default.removeItem(atPath: directory)
    if let databaseName, let url = TestDatabase.postgresURL {
        try? await PostgresAdmin.run("DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)", url: url)
    }
}

/// Creates and drops per-test databases on the test PostgreSQL server.
enum PostgresAdmin {
    static func run(_ sql: String, url: String) async throws {
        let configuration = try SQLPostgresConfiguration(url: url)
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: configuration.coreConfiguration.host ?? "127.0.0.1",
                port: configuration.coreConfiguration.port ?? 5432,
                username: configuration.coreConfiguration.username,
                password: configuration.coreConfiguration.password,
                database: configuration.coreConfiguration.database,
                tls: .disable),
            id: 1, logger: Logger(label: "test-postgres-admin"))
        defer { Task { try? await connection.close() } }
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test-postgres-admin"))
    }

    static func url(_ url: String, database: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + database
        return components.string ?? url
    }
}
