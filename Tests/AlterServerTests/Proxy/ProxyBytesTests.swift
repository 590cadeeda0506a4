@testable import AlterServer
import Foundation
import Testing
import Vapor

/// Security review F2: a proxied answer keeps its bytes. The sandbox's export route
/// compresses with Vapor's real gzip encoder when asked, as most large APIs do.
@Suite("Proxied answers keep their bytes")
struct ProxyBytesTests {
    /// Inflates with the system's gzip, a decoder that has nothing to do with the vault.
    static func gunzip(_ data: Data) async throws -> Data {
        try await offThePool { try gunzipBlocking(data) }
    }

    private static func gunzipBlocking(_ data: Data) throws -> Data {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("alter-gz-\(UUID()).gz")
        try data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-dc", file.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let inflated = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
        return inflated
    }

    @Test("a gzip answer that inflates past 1 MiB arrives byte for byte, still gzip, with one Date header")
    func gzipPassesThrough() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)

            let response = try await vault.proxy([
                "method": "GET", "url": browser.baseURL + "/sandbox/api/export?kib=3072", "grant_id": grantID,
                "headers": ["Accept-Encoding": "gzip"],
            ])

            #expect(response.status == 200)
            #expect(response.headers.first(name: "Content-Encoding") == "gzip")
            #expect(response.data.count < 1024 * 1024, "the wire bytes are the compressed ones")
            let inflated = try await Self.gunzip(response.data)
            // Compared outside #expect: a failing expectation would diff two 3 MiB values.
            let whole = inflated == Data(SandboxAPIController.exportDocument(kib: 3072).utf8)
            #expect(whole, "\(inflated.count) bytes after inflating")
            #expect(response.headers["Date"].count == 1)
        }
    }

    @Test("the caller's Accept-Encoding reaches the provider unchanged, and the vault adds none of its own")
    func acceptEncodingIsTheCallers() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let echo = browser.baseURL + "/sandbox/api/echo"

            let plain = try await vault.proxy(["method": "GET", "url": echo, "grant_id": grantID])
            let asked = try await vault.proxy(["method": "GET", "url": echo, "grant_id": grantID, "headers": ["Accept-Encoding": "br;q=1, identity;q=0.5"]])

            #expect(plain.status == 200)
            #expect((plain.json["headers"] as? [String: String])?["accept-encoding"] == nil)
            #expect((asked.json["headers"] as? [String: String])?["accept-encoding"] == "br;q=1, identity;q=0.5")
        }
    }

    @Test("an uncompressed answer of 9 MiB passes whole; the 10 MiB cap counts wire bytes")
    func largePlainAnswer() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)

            let response = try await vault.proxy(["method": "GET", "url": browser.baseURL + "/sandbox/api/export?kib=9216", "grant_id": grantID])

            #expect(response.status == 200)
            #expect(response.headers.first(name: "Content-Encoding") == nil)
            let whole = response.data == Data(SandboxAPIController.exportDocument(kib: 9216).utf8)
            #expect(whole, "\(response.data.count) bytes arrived")
        }
    }
}
