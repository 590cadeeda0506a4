import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

/// A person with a browser who connects a sandbox account through the hosted Connect UI, over
/// HTTP: open the session, go to the provider, press Allow, come back to the callback. The
/// same steps as AlterServerTests' ConnectFlow, reduced to the happy path the SDK tests need.
final class SandboxUser: @unchecked Sendable {
    /// One grant as the widget's `onSuccess` would receive it.
    struct Connected {
        let grantID: String
        let operation: String
        let accountIdentifier: String
    }

    static let nonce = "sdk-test-nonce-0123456789"
    let baseURL: String
    let origin: String
    private let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    private var cookies: [String: String] = [:]

    init(baseURL: String, origin: String = "http://localhost:4001") {
        self.baseURL = baseURL
        self.origin = origin
    }

    func close() async throws { try await client.shutdown() }

    /// Completes a one-provider session as `account` and returns the grant the session delivered.
    func connect(sessionToken: String, account: String = "alice@sandbox.test") async throws -> Connected {
        let start = try await follow(try await get("/connect?token=\(sessionToken)&nonce=\(Self.nonce)&mode=popup"))
        let next = try #require(Self.scriptData(start.body)["next"] as? String, "the one-provider page starts OAuth by itself")
        #expect(next.hasPrefix(baseURL + "/sandbox/oauth/authorize?"), "the one-provider page links straight to the provider")
        let consent = try await get(next)
        var fields = Self.hiddenInputs(consent.body).filter { $0.0 != "account" }
        fields += [("account", account), ("decision", "allow")]
        let decision = try await send(.POST, baseURL + "/sandbox/oauth/decision", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Self.form(fields))
        _ = try await follow(try await get(try #require(decision.location, "the sandbox redirects to the callback")))

        let result = try await get("/v1/connect/sessions/result", headers: [("Authorization", "Bearer \(sessionToken)"), ("Origin", origin)])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.body.utf8)) as? [String: Any])
        #expect(json["status"] as? String == "completed", "\(result.body)")
        let grant = try #require((json["grants"] as? [[String: Any]])?.first)
        return Connected(
            grantID: try #require(grant["grant_id"] as? String), operation: try #require(grant["operation"] as? String),
            accountIdentifier: try #require(grant["account_identifier"] as? String))
    }

    // MARK: - A browser, as far as these pages need one

    struct Page {
        let status: Int
        let headers: HTTPHeaders
        let body: String
        var location: String? { headers.first(name: "Location") }
    }

    private func get(_ pathOrURL: String, headers: [(String, String)] = []) async throws -> Page {
        try await send(.GET, pathOrURL, headers: headers, body: nil)
    }

    private func follow(_ page: Page) async throws -> Page {
        var current = page
        for _ in 0..<10 {
            guard (300..<400).contains(current.status), let location = current.location else { break }
            current = try await get(location)
        }
        return current
    }

    /// Keeps cookies per name (one host), never follows redirects by itself.
    private func send(_ method: HTTPMethod, _ pathOrURL: String, headers: [(String, String)], body: String?) async throws -> Page {
        var request = HTTPClientRequest(url: pathOrURL.hasPrefix("http") ? pathOrURL : baseURL + pathOrURL)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !cookies.isEmpty {
            request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; "))
        }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        for header in response.headers["Set-Cookie"] {
            let parts = (header.split(separator: ";").first ?? "").split(separator: "=", maxSplits: 1)
            if parts.count == 2 { cookies[parts[0].trimmingCharacters(in: .whitespaces)] = String(parts[1]) }
        }
        let bytes = try await response.body.collect(upTo: 4 * 1024 * 1024)
        return Page(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    // MARK: - Reading the hosted pages

    /// The hosted page's `<script type="application/json" id="alter-data">` block.
    private static func scriptData(_ html: String) -> [String: Any] {
        guard let start = html.range(of: "id=\"alter-data\">"), let end = html.range(of: "</script>", range: start.upperBound..<html.endIndex)
        else { return [:] }
        let json = Data(html[start.upperBound..<end.lowerBound].utf8)
        return (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] ?? [:]
    }

    /// `<input type="hidden" name=… value=…>` pairs of the consent form, in order.
    private static func hiddenInputs(_ html: String) -> [(String, String)] {
        var fields: [(String, String)] = []
        var rest = html[...]
        while let start = rest.range(of: "<input"), let end = rest.range(of: ">", range: start.upperBound..<rest.endIndex) {
            let tag = String(rest[start.lowerBound..<end.upperBound])
            if tag.contains("type=\"hidden\""), let name = attribute("name", in: tag) {
                fields.append((name, unescape(attribute("value", in: tag) ?? "")))
            }
            rest = rest[end.upperBound...]
        }
        return fields
    }

    private static func attribute(_ name: String, in tag: String) -> String? {
        guard let start = tag.range(of: " \(name)=\""), let end = tag.range(of: "\"", range: start.upperBound..<tag.endIndex) else { return nil }
        return String(tag[start.upperBound..<end.lowerBound])
    }

    private static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    private static func form(_ fields: [(String, String)]) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return fields.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
            .joined(separator: "&")
    }
}
