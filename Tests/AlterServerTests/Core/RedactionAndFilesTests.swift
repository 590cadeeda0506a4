@testable import AlterServer
import Foundation
import Testing
import Vapor

@Suite("Log redaction and private files")
struct RedactionAndFilesTests {
    /// Query strings and what the log line must show: names are matched as the handler
    /// decodes them (security review F15).
    static let queries: [(String, String)] = [
        ("token=cs_secret", "token=[redacted]"),
        ("%74oken=cs_secret", "%74oken=[redacted]"),
        ("%54OKEN=cs_secret", "%54OKEN=[redacted]"),
        ("co%64e=abc&state=xyz", "co%64e=[redacted]&state=[redacted]"),
        ("+token=cs_secret", "+token=[redacted]"),
        ("mode=popup&connected=1", "mode=popup&connected=1"),
    ]

    @Test("percent-encoded and plus-encoded secret names are redacted", arguments: queries)
    func redactsDecodedNames(query: String, logged: String) {
        #expect(RequestRedactionMiddleware.redactedPath(URI(string: "/connect?" + query)) == "/connect?" + logged)
    }

    @Test("the data directory is 0700, the key file and the database 0600")
    func privateModes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alter-modes-\(UUID())").path + "/data"
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let app = try await Application.make(.testing)
        do {
            try await configure(app, with: AlterConfiguration(publicURL: "http://localhost:4000", dataDirectory: directory))
            try await prepareStorage(app)
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
        func mode(_ path: String) throws -> Int { try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) }
        #expect(try mode(directory) == 0o700)
        #expect(try mode(directory + "/" + EncryptionKeys.fileName) == 0o600)
        #expect(try mode(directory + "/alter.sqlite") == 0o600)
    }

    @Test("a key file others may read, or a symbolic link in its place, is refused at start")
    func refusesSharedKeyFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alter-keys-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = AlterConfiguration(publicURL: "http://localhost:4000", dataDirectory: directory)
        _ = try EncryptionKeys.load(configuration: configuration)
        let path = directory + "/" + EncryptionKeys.fileName
        chmod(path, 0o644)
        #expect(throws: ConfigurationError.self) { try EncryptionKeys.load(configuration: configuration) }
        chmod(path, 0o600)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".real")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: path + ".real")
        #expect(throws: ConfigurationError.self) { try EncryptionKeys.load(configuration: configuration) }
    }

    @Test("with DATABASE_URL, a server without ALTER_ENCRYPTION_KEYS refuses to start")
    func postgresNeedsSharedKeys() throws {
        let configuration = AlterConfiguration(publicURL: "http://localhost:4000", dataDirectory: "/nonexistent", database: .postgres(url: "postgres://x@127.0.0.1/x"))
        #expect(throws: ConfigurationError.self) { try EncryptionKeys.load(configuration: configuration) }
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent"))
    }
}
