@testable import AlterServer
import Foundation
import Testing

@Suite("Proxy rules: upstream hosts and forwarded headers")
struct ProxyRulesTests {
    static let allowed = ["https://api.example.com", "http://localhost:4000"]

    @Test("a URL off the provider's API hosts is refused", arguments: [
        "https://evil.example.com/x", "http://127.0.0.1:4000/x", "https://localhost:4000/x", "http://user@localhost:4000/x",
        "http://localhost:4001/x", "/sandbox/api/echo", "javascript:alert(1)", "http://localhost:4000\\@evil.com/", "http://localhost:4000/a b",
        "http://169.254.169.254/latest/meta-data", "file:///etc/passwd", "http://localhost.evil.com:4000/", "https://api.example.com.evil.com/",
        "https://api.example.com:8443/x", "http://api.example.com/x", "https://user:pw@api.example.com/", "https://api.example.com/\u{7F}",
        "https://api.exämple.com/", String(repeating: "a", count: 8193),
    ])
    func refused(url: String) {
        #expect(throws: ProxyTarget.Refused.self) { try ProxyTarget(url: url, allowedHosts: Self.allowed) }
    }

    @Test("a URL on an API host is accepted, default port and case normalised, fragment dropped", arguments: [
        ("https://api.example.com/v1/x?y=1", "https://api.example.com/v1/x?y=1"), ("https://API.example.com/v1", "https://API.example.com/v1"),
        ("https://api.example.com:443/v1", "https://api.example.com:443/v1"), ("http://localhost:4000/x#frag", "http://localhost:4000/x"),
    ])
    func accepted(url: String, forwarded: String) throws {
        #expect(try ProxyTarget(url: url, allowedHosts: Self.allowed).url == forwarded)
    }

    @Test("a header with CR, LF, NUL or a bad name is refused", arguments: [
        ["X-Bad": "a\r\nInjected: yes"], ["X-Bad": "a\nb"], ["Bad Name": "x"], ["X-Null": "a\u{0}b"], ["": "x"], ["X-Ü": "x"],
        ["X-Long": String(repeating: "a", count: 8193)], Dictionary(uniqueKeysWithValues: (0...100).map { ("X-\($0)", "v") }),
    ])
    func invalidHeaders(headers: [String: String]) {
        #expect(throws: HeaderRules.Invalid.self) { try HeaderRules.forwardable(headers) }
    }

    @Test("credentials, routing and hop-by-hop headers from the caller are dropped", arguments: [
        "Authorization", "cookie", "Host", "forwarded", "X-Forwarded-For", "x-forwarded-host", "Proxy-Authorization", "Connection",
        "Transfer-Encoding", "Content-Length", "Alter-Source", "TE", "Upgrade",
    ])
    func droppedHeaders(name: String) throws {
        #expect(try HeaderRules.forwardable([name: "x", "Accept": "application/json"]).map(\.0) == ["Accept"])
    }

    @Test("cookies and hop-by-hop headers from the provider are not relayed", arguments: [
        ("Set-Cookie", true), ("set-cookie2", true), ("Transfer-Encoding", true), ("Alter-Source", true), ("Content-Type", false), ("ETag", false),
    ])
    func upstreamHeaders(name: String, dropped: Bool) {
        #expect(HeaderRules.isDroppedFromUpstream(name) == dropped)
    }
}
