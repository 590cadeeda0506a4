@testable import AlterServer
import AsyncHTTPClient
import NIOConcurrencyHelpers
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing
import Vapor

/// Ports handed out in this test process, so parallel tests never pick the same one.
// Below Linux's ephemeral range (32768+), where outgoing connections take their ports.
private let nextPort = NIOLockedValueBox(Int.random(in: 20_000...30_000))

/// A port nobody listens on right now, and that no other test in this process was given.
func freePort() throws -> Int {
    for _ in 0..<200 {
        let candidate = nextPort.withLockedValue { value -> Int in
            value += 1
            return value
        }
        if isBindable(candidate) { return candidate }
    }
    throw ConfigurationError("no free test port")
}

private func isBindable(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let length = socklen_t(MemoryLayout<sockaddr_in>.size)
    return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } } == 0
}

/// A fresh app listening on a real loopback port, so the OAuth client reaches the sandbox
/// over HTTP exactly as it reaches a real provider.
func withRunningApp(
    database: TestDatabase = .sqlite,
    adjust: (inout AlterConfiguration) -> Void = { _ in },
    routes: (Application) -> Void = { _ in },
    _ body: (Application, TestBrowser) async throws -> Void
) async throws {
    let port = try freePort()
    try await withApp(database: database, port: port, adjust: adjust) { app in
        routes(app)
        try await app.asyncBoot()
        try await app.server.start(address: .hostname("127.0.0.1", port: port))
        let browser = TestBrowser(baseURL: "http://localhost:\(port)")
        do {
            try await body(app, browser)
        } catch {
            try? await browser.close()
            await app.server.shutdown()
            throw error
        }
        try await browser.close()
        await app.server.shutdown()
    }
}

/// A second browser for `body`, closed on every path: an HTTPClient dropped without
/// `shutdown()` traps in AsyncHTTPClient's deinit and takes the whole test run down with it.
func withTestBrowser<T>(baseURL: String, connectionsPerHost: Int = 8, _ body: (TestBrowser) async throws -> T) async throws -> T {
    let browser = TestBrowser(baseURL: baseURL, connectionsPerHost: connectionsPerHost)
    do {
        let value = try await body(browser)
        try await browser.close()
        return value
    } catch {
        try? await browser.close()
        throw error
    }
}

/// Plays the part of a browser: keeps cookies per host, never follows redirects by itself,
/// and sends an `Origin` when asked to.
final class TestBrowser: @unchecked Sendable {
    struct Page {
        let status: Int
        let headers: HTTPHeaders
        let body: String
        /// The body's bytes as they arrived (no decompression).
        var data = Data()
        var location: String? { headers.first(name: "Location") }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }

        /// The page script's data block (`<script type="application/json" id="alter-data">`).
        var scriptData: [String: Any] {
            guard let start = body.range(of: "id=\"alter-data\">"), let end = body.range(of: "</script>", range: start.upperBound..<body.endIndex)
            else { return [:] }
            let json = String(body[start.upperBound..<end.lowerBound])
            return (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        }
    }

    let baseURL: String
    private let client: HTTPClient
    private(set) var cookies: [String: String] = [:]

    /// `connectionsPerHost`: AsyncHTTPClient opens 8 by default and queues the rest, failing a
    /// queued request with `getConnectionFromPoolTimeout` after 10 s; a test that means its
    /// calls to be simultaneous asks for enough connections to send them all at once.
    init(baseURL: String, connectionsPerHost: Int = 8) {
        self.baseURL = baseURL
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func close() async throws { try await client.shutdown() }

    func forgetCookies() { cookies = [:] }

    func get(_ pathOrURL: String, headers: [(String, String)] = []) async throws -> Page {
        try await send(.GET, pathOrURL, headers: headers, body: nil)
    }

    func postForm(_ pathOrURL: String, _ fields: [(String, String)]) async throws -> Page {
        try await send(.POST, pathOrURL, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: FormEncoding.encode(fields))
    }

    func postJSON(_ pathOrURL: String, _ object: [String: any Sendable], headers: [(String, String)] = []) async throws -> Page {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await send(.POST, pathOrURL, headers: headers + [("Content-Type", "application/json")], body: String(decoding: data, as: UTF8.self))
    }

    /// Follows redirects like a browser would, up to `limit` hops.
    func follow(_ page: Page, limit: Int = 10) async throws -> Page {
        var current = page
        var hops = 0
        while (300..<400).contains(current.status), let location = current.location, hops < limit {
            current = try await get(location)
            hops += 1
        }
        return current
    }

    func send(_ method: HTTPMethod, _ pathOrURL: String, headers: [(String, String)], body: String?) async throws -> Page {
        let url = pathOrURL.hasPrefix("http") ? pathOrURL : baseURL + pathOrURL
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !cookies.isEmpty {
            request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; "))
        }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        for header in response.headers[canonicalForm: "Set-Cookie"] {
            let pair = header.split(separator: ";").first ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            let name = String(parts[0]).trimmingCharacters(in: .whitespaces)
            // As browsers do: an expired cookie (Max-Age=0) is removed.
            if header.lowercased().contains("max-age=0") { cookies[name] = nil } else { cookies[name] = String(parts[1]) }
        }
        let bytes = try await response.body.collect(upTo: 12 * 1024 * 1024)
        return Page(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes), data: Data(buffer: bytes))
    }
}
