@testable import AlterServer
import Foundation
import Testing

/// Runs the real `alter` executable, as an operator would.
struct AlterProcess {
    static let binary: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return ProcessInfo.processInfo.environment["ALTER_BIN"] ?? root.appendingPathComponent(".build/debug/alter").path
    }()

    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("alter-cli-\(UUID())").path

    struct Result {
        let status: Int32
        let output: String
        let error: String
    }

    func run(_ arguments: String...) async throws -> Result { try await run(arguments) }

    /// Two `alter` processes at a time: all tests start at once, and a few dozen debug binaries
    /// starting together (each about a second of CPU) starved the rest of the suite on two cores.
    static let limiter = AsyncLimiter(limit: 2)

    /// The run's pipes are read and its exit awaited off the cooperative pool (`offThePool`).
    func run(_ arguments: [String], input: String? = nil, environment extra: [String: String] = [:]) async throws -> Result {
        let dataDirectory = dataDirectory
        return try await Self.limiter.run {
            try await offThePool { try Self.runBlocking(arguments, input: input, environment: extra, dataDirectory: dataDirectory) }
        }
    }

    private static func runBlocking(_ arguments: [String], input: String?, environment extra: [String: String], dataDirectory: String) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        let stdin = Pipe()
        process.standardInput = stdin
        var environment = ProcessInfo.processInfo.environment
        environment["ALTER_DATA_DIR"] = dataDirectory
        environment["DATABASE_URL"] = nil
        environment["ALTER_ENCRYPTION_KEYS"] = nil
        environment.merge(extra) { $1 }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self), error: String(decoding: error, as: UTF8.self))
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: dataDirectory) }
}

@Suite("The alter command line", .enabled(if: FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct CLITests {
    @Test("an operator creates an app, a key and a provider, and sees them listed")
    func adminFlow() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }

        let created = try await alter.run("apps", "create", "--name", "Acme", "--website-url", "https://acme.example.com")
        #expect(created.status == 0, "\(created.error)")
        let appID = try #require(created.output.split(separator: "\n").first { $0.hasPrefix("id: ") }).dropFirst(4)

        let key = try await alter.run("keys", "create", "--app", String(appID))
        #expect(key.status == 0)
        // The official SDK's format, which it checks before sending anything (CRC-32 checksum).
        let secret = try #require(key.output.split(separator: "\n").first { $0.hasPrefix("alter_rk_") })
        #expect(ScopedKey.isWellFormed(String(secret)))

        let configured = try await alter.run(["providers", "configure", "--app", "Acme", "--provider", "github", "--client-id", "cid"], input: "very-secret-value\n")
        #expect(configured.status == 0, "\(configured.error)")
        // RFC 9700 §4.4.2.2: each provider gets its own redirect URI; the operator registers it.
        #expect(configured.output.contains("redirect URI: http://localhost:4000/oauth/callback/github (register exactly this at GitHub)"))

        let apps = try await alter.run("apps", "list")
        #expect(apps.output.contains("Acme") && apps.output.contains("https://acme.example.com"))
        let providers = try await alter.run("providers", "list", "--app", "Acme")
        #expect(providers.output.contains("github") && providers.output.contains("[configured]"))
        #expect(providers.output.contains("redirect URI: http://localhost:4000/oauth/callback/github"))

        let keys = try await alter.run("keys", "list", "--app", "Acme")
        #expect(!keys.output.contains(String(secret)))
        let keyID = try #require(keys.output.split(separator: " ").first)
        let revoked = try await alter.run("keys", "revoke", "--key", String(keyID))
        #expect(revoked.status == 0)
        #expect(try await alter.run("keys", "list", "--app", "Acme").output.contains("revoked"))

        // Nothing secret is stored in plain text.
        let database = try Data(contentsOf: URL(fileURLWithPath: alter.dataDirectory + "/alter.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: alter.dataDirectory + "/alter.sqlite-wal"))) ?? Data())
        #expect(database.range(of: Data("very-secret-value".utf8)) == nil)
        #expect(database.range(of: Data(secret.utf8)) == nil)
    }

    @Test("bad input exits non-zero with a clear message", arguments: [
        (["apps", "create", "--name", "X", "--website-url", "https://x.example.com/path"], "--website-url must not contain a path"),
        (["apps", "create", "--website-url", "https://x.example.com"], "--name is required"),
        (["keys", "create", "--app", "nope"], "no app 'nope'"),
        (["providers", "configure", "--app", "nope", "--provider", "github"], "no app 'nope'"),
        (["keys", "revoke", "--key", "not-a-uuid"], "--key must be a key id"),
    ])
    func badInput(arguments: [String], message: String) async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        let result = try await alter.run(arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "\(result.error)")
    }

    @Test("a client secret is taken from standard input or a file, never from argv, where ps would show it")
    func clientSecretNotOnArgv() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        _ = try await alter.run("apps", "create", "--name", "Acme")
        let base = ["providers", "configure", "--app", "Acme", "--provider", "github", "--client-id", "cid"]

        let onArgv = try await alter.run(base + ["--client-secret", "argv-secret-value"])
        let empty = try await alter.run(base, input: "")
        let file = alter.dataDirectory + "/client-secret.txt"
        try "file-secret-value\n".write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try await alter.run(base + ["--client-secret-file", file])

        #expect(onArgv.status != 0)
        #expect(onArgv.error.contains("would show in ps and shell history"), "\(onArgv.error)")
        #expect(empty.status != 0)
        #expect(empty.error.contains("read from standard input"), "\(empty.error)")
        #expect(fromFile.status == 0, "\(fromFile.error)")
        let listed = try await alter.run("providers", "list", "--app", "Acme")
        #expect(listed.output.split(separator: "\n").contains { $0.hasPrefix("github") && $0.contains("[configured]") })
        // The refused argv secret was never stored: only the file's is, sealed.
        let database = try Data(contentsOf: URL(fileURLWithPath: alter.dataDirectory + "/alter.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: alter.dataDirectory + "/alter.sqlite-wal"))) ?? Data())
        #expect(database.range(of: Data("argv-secret-value".utf8)) == nil)
        #expect(database.range(of: Data("file-secret-value".utf8)) == nil)
    }

    @Test("an unknown provider id is refused")
    func unknownProvider() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        _ = try await alter.run("apps", "create", "--name", "Acme")
        let result = try await alter.run(["providers", "configure", "--app", "Acme", "--provider", "nosuch", "--client-id", "a"], input: "b")
        #expect(result.status != 0)
        #expect(result.error.contains("--provider must be a provider id"))
    }
}

@Suite("The alter command line leaves no trace", .enabled(if: FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct CLIHygieneTests {
    @Test("alter --help prints the commands and creates no file, not even the data directory")
    func helpCreatesNothing() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        for arguments in [["--help"], ["apps", "--help"], ["serve", "--help"]] {
            let result = try await alter.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.error)")
            #expect(result.output.contains("Usage:"))
            #expect(result.error.isEmpty, "\(arguments) printed \(result.error)")
            #expect(!FileManager.default.fileExists(atPath: alter.dataDirectory), "\(arguments) created \(alter.dataDirectory)")
        }
    }

    @Test("LOG_FORMAT=json prints each log line as one JSON object")
    func jsonLogs() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        let result = try await alter.run(["migrate", "--log", "debug"], environment: ["LOG_FORMAT": "json"])
        #expect(result.status == 0, "\(result.error)")
        let lines = (result.output + result.error).split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(object["level"] is String && object["message"] is String && object["ts"] is String && object["label"] is String)
        }
    }
}
