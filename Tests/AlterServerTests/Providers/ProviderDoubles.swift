@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Vapor

/// Every request the provider doubles received, for assertions.
final class DoubleLog: @unchecked Sendable {
    struct Entry {
        let method: String
        let path: String
        let query: [String: String]
        let headers: HTTPHeaders
        let body: String
        var form: [String: String] { FormEncoding.decode(body) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    private let lock = NSLock()
    private var entries: [Entry] = []

    @discardableResult
    func record(_ request: Request) -> Entry {
        let entry = Entry(
            method: request.method.rawValue, path: request.url.path,
            query: FormEncoding.decode(request.url.query ?? ""), headers: request.headers,
            body: request.body.string ?? "")
        lock.withLock { entries.append(entry) }
        return entry
    }

    var all: [Entry] { lock.withLock { entries } }

    /// The last request whose path ends with `suffix`.
    func last(_ suffix: String) -> Entry? { all.last { $0.path.hasSuffix(suffix) } }
}

/// A small locked box for doubles that keep state (rotating refresh tokens).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withValue<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}

/// One provider double: the shipped catalog entry with every URL moved onto the test
/// server (`https://slack.com/api/…` → `http://127.0.0.1:PORT/double/slack/slack.com/api/…`),
/// so the real entry's quirks, parameters and paths are exercised against routes that
/// answer exactly as that provider does.
struct ProviderDouble {
    let entry: CatalogProvider
    let app: Application
    let base: String
    let log: DoubleLog

    init(_ id: String, app: Application, base: String, log: DoubleLog, adjust: (inout CatalogProvider) -> Void = { _ in }) throws {
        var entry = try #require(app.providerCatalog[id], "no catalog entry \(id)")
        func move(_ url: String) -> String {
            guard url.hasPrefix("https://") else { return url }
            return base + "/double/\(id)/" + url.dropFirst("https://".count)
        }
        entry.authorizationURL = move(entry.authorizationURL)
        entry.tokenURL = move(entry.tokenURL)
        entry.revocationURL = entry.revocationURL.map(move)
        if let url = entry.userinfo?.url { entry.userinfo?.url = move(url) }
        entry.allowsPrivateNetwork = true
        adjust(&entry)
        self.entry = entry
        self.app = app
        self.base = base
        self.log = log
        authorize()
    }

    /// `GET authorization_url`: records the query and sends the browser straight back with a code.
    func authorize(_ answer: (@Sendable ([String: String]) -> [(String, String)])? = nil) {
        let log = log
        on(.GET, entry.authorizationURL) { request in
            log.record(request)
            let query = FormEncoding.decode(request.url.query ?? "")
            let redirect = query["redirect_uri"] ?? ""
            let pairs = answer?(query) ?? [("code", "code-\(UUID().uuidString.prefix(8))"), ("state", query["state"] ?? "")]
            return request.redirect(to: redirect + "?" + FormEncoding.encode(pairs), redirectType: .normal)
        }
    }

    func token(_ respond: @escaping @Sendable (DoubleLog.Entry) -> Response) { handle(.POST, entry.tokenURL, respond) }

    func userinfo(_ respond: @escaping @Sendable (DoubleLog.Entry) -> Response) {
        guard let userinfo = entry.userinfo else { return }
        handle(userinfo.method == "POST" ? .POST : .GET, userinfo.url, respond)
    }

    func handle(_ method: HTTPMethod, _ url: String, _ respond: @escaping @Sendable (DoubleLog.Entry) -> Response) {
        let log = log
        on(method, url) { request in
            respond(log.record(request))
        }
    }

    /// Registers a route for a moved URL; `{variable}` segments match any value.
    private func on(_ method: HTTPMethod, _ url: String, _ handler: @escaping @Sendable (Request) async throws -> Response) {
        let path = String(url.dropFirst(base.count)).split(separator: "?").first.map(String.init) ?? ""
        let components = path.split(separator: "/").enumerated().map { index, segment -> PathComponent in
            segment.contains("{") ? .parameter("p\(index)") : .constant(String(segment))
        }
        app.on(method, components, body: .collect(maxSize: "1mb"), use: handler)
    }

    // MARK: - Responses

    static func json(_ object: Any, status: HTTPResponseStatus = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return raw(String(decoding: data, as: UTF8.self), status: status, contentType: "application/json")
    }

    static func raw(_ body: String, status: HTTPResponseStatus = .ok, contentType: String) -> Response {
        let response = Response(status: status, body: .init(string: body))
        response.headers.replaceOrAdd(name: .contentType, value: contentType)
        return response
    }
}

/// A fresh app on a real loopback port whose catalog has the given doubles in place of
/// the shipped entries. `install` registers the doubles' routes before the server starts.
func withProviderDoubles(
    database: TestDatabase = .sqlite,
    _ install: (Application, _ base: String, DoubleLog) throws -> [CatalogProvider],
    _ body: (Application, TestBrowser, DoubleLog) async throws -> Void
) async throws {
    let port = try freePort()
    try await withApp(database: database, port: port) { app in
        let log = DoubleLog()
        let entries = try install(app, "http://127.0.0.1:\(port)", log)
        let replaced = Set(entries.map(\.id))
        app.providerCatalog = try ProviderCatalog(providers: app.providerCatalog.sorted.filter { !replaced.contains($0.id) } + entries)
        try await app.asyncBoot()
        try await app.server.start(address: .hostname("127.0.0.1", port: port))
        let browser = TestBrowser(baseURL: "http://localhost:\(port)")
        do {
            try await body(app, browser, log)
        } catch {
            try? await browser.close()
            await app.server.shutdown()
            throw error
        }
        try await browser.close()
        await app.server.shutdown()
    }
}

extension ConnectFlow {
    /// Mint → open → the double's authorization endpoint → callback → finishing page.
    func connectThroughDouble(_ provider: String) async throws -> (token: String, finish: TestBrowser.Page) {
        let token = try await mint(["allowed_providers": [provider], "allowed_origin": "http://localhost:4001"])
        let authorize = try await authorizationURL(from: try await open(token))
        let back = try await browser.get(authorize)
        let callback = try #require(back.location, "the double answered \(back.status): \(back.body)")
        return (token, try await browser.follow(try await browser.get(callback)))
    }

    /// The session's outcome from the result endpoint: (status, error code, error details).
    func outcome(_ token: String) async throws -> (status: String?, code: String?, details: [String: String]) {
        let json = try await result(token).json
        let error = json["error"] as? [String: Any]
        return (json["status"] as? String, error?["code"] as? String, error?["details"] as? [String: String] ?? [:])
    }
}

/// Sets an app's provider config values the way `alter providers configure` does.
func updateConfig(_ app: Application, provider: String, scopes: [String]? = nil, variables: [String: String]? = nil) async throws {
    let config = try #require(try await ProviderConfig.query(on: app.db).filter(\.$provider == provider).first())
    if let scopes { config.scopes = scopes }
    if let variables { config.variables = variables }
    try await config.save(on: app.db)
}
