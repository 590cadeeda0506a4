@testable import AlterServer
import Foundation
import Testing

@Suite("allowed_origin and return_url rules")
struct OriginRulesTests {
    @Test("allowed_origin must already be its canonical scheme://host[:port] form", arguments: [
        ("*", "wildcards"),
        ("https://*.example.com", "wildcards"),
        ("https://app.example.com/", "slash"),
        ("https://app.example.com/path", "path"),
        ("https://app.example.com?x=1", "query"),
        ("https://app.example.com#frag", "fragment"),
        ("https://user@app.example.com", "user information"),
        ("https://user:pw@app.example.com", "user information"),
        ("app.example.com", "scheme"),
        ("//app.example.com", "scheme"),
        ("ftp://app.example.com", "http or https"),
        ("javascript://app.example.com", "http or https"),
        ("https://app.example.com:443", "default port"),
        ("http://localhost:80", "default port"),
        ("HTTPS://app.example.com", "lower case"),
        ("https://App.Example.com", "lower case"),
        ("https://bücher.example", "punycode"),
        ("https://app.example.com\t", "control"),
        ("https://app.exa\nmple.com", "control"),
        ("https://app.example.com\r", "control"),
        (" https://app.example.com", "control"),
        ("https://app.example.com:0", "port"),
        ("https://app.example.com:99999", "port"),
        ("https://app.example.com:abc", "port"),
        ("https://app..example.com", "host"),
        ("https://-app.example.com", "host"),
        ("http://app.example.com", "localhost"),
        ("http://10.0.0.1:8080", "localhost"),
        ("https://app.example.com\\", "backslash"),
        ("", "empty"),
        // Numeric hosts a browser rewrites (WHATWG URL IPv4 parser): not what event.origin will say.
        ("https://2130706433", "dotted-decimal"),
        ("https://0x7f.1", "dotted-decimal"),
        ("https://0x7f000001", "dotted-decimal"),
        ("https://1.2.3", "dotted-decimal"),
        ("https://127.1", "dotted-decimal"),
        ("https://0177.0.0.1", "dotted-decimal"),
        ("https://127.000.0.1", "dotted-decimal"),
        ("https://256.1.1.1", "dotted-decimal"),
        ("https://app.example.123", "dotted-decimal"),
        ("https://app.example.0x1f", "dotted-decimal"),
        ("http://0x7f.0.0.1:3000", "dotted-decimal"),
        // IPv6 not in its RFC 5952 form, or an IPv4 host in disguise.
        ("http://[0:0::1]:8080", "canonical form [::1]"),
        ("http://[0:0:0:0:0:0:0:1]", "canonical form [::1]"),
        ("http://[::0001]", "canonical form [::1]"),
        ("https://[2001:DB8::1]", "lower case"),
        ("https://[2001:db8:0:0:0:0:0:1]", "canonical form [2001:db8::1]"),
        ("https://[2001:db8::0:1]", "canonical form [2001:db8::1]"),
        ("https://[2001:db8:0::1:0:0:1]", "canonical form [2001:db8::1:0:0:1]"),
        ("http://[::ffff:7f00:1]", "IPv4 address itself"),
        ("http://[::ffff:127.0.0.1]", "IPv4 address itself"),
        ("https://[::8.8.8.8]", "IPv4 address itself"),
        ("https://[::1", "not closed"),
        ("https://[example.com]", "host"),
        ("https://[1.2.3.4]", "host"),
        ("https://[::1]x", "unexpected characters"),
    ])
    func refused(origin: String, rule: String) {
        #expect {
            try AllowedOrigin(parsing: origin)
        } throws: { error in
            (error as? AllowedOrigin.Violation)?.rule.contains(rule) == true
        }
    }

    @Test("canonical origins are accepted as written", arguments: [
        "https://app.example.com", "https://app.example.com:8443", "http://localhost:3000", "http://127.0.0.1:5173",
        "http://[::1]:8080", "https://xn--bcher-kva.example", "http://dev.localhost", "https://1.2.0.3", "https://10.0.0.1",
        "https://[2001:db8::1]", "https://[2001:db8::1:0:0:1]", "https://[2001:db8:0:1:1:1:1:1]", "https://[2001:db8::1:0]", "https://0x7f.example.com",
        "https://123.example.com", "http://127.8.9.10:4000",
    ])
    func accepted(origin: String) throws {
        #expect(try AllowedOrigin(parsing: origin).value == origin)
    }

    @Test("return_url must be an absolute URL on the session's origin: no open redirects", arguments: [
        "//evil.com", "/\\evil.com", "https://a.com.evil.com/", "https://a.com@evil.com/", "https://a.com:444/",
        "https://a.com\t/x", "https://a.com/\r\nx", "javascript:alert(1)", "/relative/path", "https://evil.com/https://a.com",
        "http://a.com/", "https://a.com\\@evil.com", "https://a.com//evil.com", "HTTPS://a.com/",
        "https://a.com/ü", "data:text/html,hi", "https://a.com/<script>", String(repeating: "a", count: 2049),
    ])
    func foreignReturnURL(returnURL: String) throws {
        let origin = try AllowedOrigin(parsing: "https://a.com")
        #expect(throws: ReturnURL.Violation.self) { try ReturnURL(validating: returnURL, for: origin) }
    }

    @Test("a return_url on the session's origin is accepted as written", arguments: [
        "https://a.com", "https://a.com/", "https://a.com/settings/integrations?tab=2#done", "https://a.com?x=1", "https://a.com#x",
    ])
    func sameOriginReturnURL(returnURL: String) throws {
        #expect(try ReturnURL(validating: returnURL, for: try AllowedOrigin(parsing: "https://a.com")).value == returnURL)
    }
}
