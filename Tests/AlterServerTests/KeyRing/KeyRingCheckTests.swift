@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import SQLKit
import Testing
import Vapor

/// Security review F17: instances sharing one PostgreSQL must hold one key ring. Checked with
/// real `alter serve` processes against the database of a running instance.
@Suite(
    "Instances on one PostgreSQL share one key ring",
    .enabled(if: TestDatabase.postgresURL != nil && FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct KeyRingCheckTests {
    static func randomKey() -> String { Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }

    @Test("a second instance with another key under the same id, or without the active key, refuses to start and stores nothing; the same ring starts")
    func secondInstanceRing() async throws {
        try await withApp(database: .postgres) { app in
            guard case .postgres(let url) = app.alterConfiguration.database, let ring = app.alterConfiguration.encryptionKeys else {
                throw ConfigurationError("the PostgreSQL lane")
            }
            let alter = AlterProcess()
            defer { alter.cleanUp() }
            let rows = { try await (app.db as! any SQLDatabase).select().column("key_id").from(KeyRingCheck.schema).all().count }
            let stored = try await rows()

            let sameID = try await Self.serve(alter, url: url, keys: "test:\(Self.randomKey())")
            #expect(sameID.exited && sameID.status != 0)
            #expect(sameID.error.contains("encryption key 'test' differs from the key 'test' already used with this database"), "\(sameID.error)")

            let lacking = try await Self.serve(alter, url: url, keys: "k2:\(Self.randomKey())")
            #expect(lacking.exited && lacking.status != 0)
            #expect(lacking.error.contains("this instance's key ring lacks it"), "\(lacking.error)")
            #expect(try await rows() == stored)

            // The same ring, with a new key added second (decrypt only, the first step of a
            // rotation), starts and serves.
                let same = try await Self.serve(alter, url: url, keys: "\(ring),k3:\(Self.randomKey())")
            #expect(!same.exited, "\(same.error)")
            #expect(try await rows() == stored + 1)
        }
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    static func listens(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    struct Outcome {
        let exited: Bool
        let status: Int32
        let error: String
    }

    /// Starts `alter serve` with `keys`: either it exits (refused) or it answers /healthz
    /// (started; then it is stopped).
    static func serve(_ alter: AlterProcess, url: String, keys: String) async throws -> Outcome {
        let port = try freePort()
        let err = Pipe()
        let process = try SecondInstance.launch(url: url, keys: keys, port: port, dataDirectory: alter.dataDirectory, standardError: err)
        let started = try await withTestBrowser(baseURL: "http://127.0.0.1:\(port)") { probe in
            for _ in 0..<200 where process.isRunning {
                // Only once the port listens: the HTTP client keeps retrying a refused connection.
                if Self.listens(port), (try? await probe.get("/healthz"))?.status == 200 { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        if process.isRunning { process.terminate() }
        // Waited for without holding a thread (see `SecondInstance.stop`).
        await SecondInstance.exit(of: process)
        if started { return Outcome(exited: false, status: 0, error: "") }
        let error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Outcome(exited: true, status: process.terminationStatus, error: error)
    }
}
