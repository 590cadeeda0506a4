@testable import AlterServer
import Foundation
import Testing

/// The pure rules behind the policy kinds: tables of the cases a user would try.
@Suite("Policy rules")
struct PolicyRulesTests {
    static func date(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso)! }

    static let paris = try! TimeWindow(timeZone: "Europe/Paris", weekdays: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00")

    @Test("business hours are read on the zone's wall clock, DST included", arguments: [
        ("2026-12-01T08:00:00Z", true),   // Tuesday 09:00 CET: opens
        ("2026-12-01T07:59:00Z", false),  // 08:59 CET
        ("2026-12-01T15:59:00Z", true),   // 16:59 CET
        ("2026-12-01T16:00:00Z", false),  // 17:00 CET: end is exclusive
        ("2026-07-01T07:00:00Z", true),   // Wednesday 09:00 CEST (UTC+2)
        ("2026-07-01T15:00:00Z", false),  // 17:00 CEST
        ("2026-12-05T10:00:00Z", false),  // Saturday
        ("2026-12-04T22:30:00Z", false),  // Friday 23:30 UTC is Saturday in Paris
    ])
    func timeWindow(at iso: String, open: Bool) {
        #expect(Self.paris.contains(Self.date(iso)) == open)
    }

    @Test("time windows refuse zones, days and hours that do not read", arguments: [
        ("EST", nil, "09:00", "17:00"), ("Mars/Olympus", nil, "09:00", "17:00"), ("UTC", ["funday"], "09:00", "17:00"),
        ("UTC", [], "09:00", "17:00"), ("UTC", nil, "17:00", "09:00"), ("UTC", nil, "9:00", "17:00"), ("UTC", nil, "09:00", "24:01"),
    ] as [(String, [String]?, String, String)])
    func badWindows(zone: String, days: [String]?, start: String, end: String) {
        #expect(throws: PolicyCondition.Invalid.self) { try TimeWindow(timeZone: zone, weekdays: days, start: start, end: end) }
    }

    @Test("address ranges", arguments: [
        ("127.0.0.1", "127.0.0.1", true), ("127.0.0.0/8", "127.9.9.9", true), ("10.0.0.0/8", "11.0.0.1", false),
        ("203.0.113.0/24", "203.0.113.255", true), ("203.0.113.0/25", "203.0.113.128", false), ("0.0.0.0/0", "8.8.8.8", true),
        ("2001:db8::/32", "2001:db8:ffff::1", true), ("2001:db8::/32", "2001:db9::1", false), ("::1", "::1", true),
        ("127.0.0.1", "::1", false), ("10.0.0.0/8", "::ffff:10.1.2.3", true),
    ])
    func ranges(range: String, address: String, inside: Bool) throws {
        let parsed = try #require(AddressRange(range))
        #expect(parsed.contains(try #require(NetworkAddress(literal: address))) == inside)
    }

    @Test("malformed ranges are refused", arguments: ["10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "::1/129", "example.com", "10.0.0.0/-1", "010.0.0.1"])
    func badRanges(range: String) {
        #expect(AddressRange(range) == nil)
    }

    @Test("endpoint patterns", arguments: [
        ("https://api.example.com/v1/*", "https://api.example.com/v1/users/7", true),
        ("https://api.example.com/v1/*", "https://API.example.com/v1/users?x=1", true),
        ("https://api.example.com/v1/*", "https://api.example.com/v2/users", false),
        ("https://api.example.com/v1/users", "https://api.example.com/v1/users/7", false),
        ("https://api.example.com/v1/*/posts", "https://api.example.com/v1/7/posts", true),
        ("https://api.example.com/*", "https://api.example.com.evil.test/x", false),
        ("https://*.example.com/*", "https://eu.example.com/x", true),
        ("https://api.example.com/*", "http://api.example.com/x", false),
    ])
    func endpoints(pattern: String, url: String, matches: Bool) throws {
        #expect(try #require(EndpointPattern(pattern)).matches(url) == matches)
    }

    @Test("the caller address behind trusted proxies", arguments: [
        ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),            // a proxy on this host
        ("127.0.0.1", ["198.51.100.7, 127.0.0.1"], "198.51.100.7"), // chained through a trusted hop
        ("127.0.0.1", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),   // a client cannot prepend its own claim
        ("127.0.0.1", [], "127.0.0.1"),
        ("192.0.2.9", ["198.51.100.7"], "192.0.2.9"),               // an untrusted peer's header is ignored
    ])
    func callerAddress(peer: String, forwarded: [String], expected: String) throws {
        let resolved = CallerAddress.resolve(peer: try #require(NetworkAddress(literal: peer)), peerText: peer, forwardedFor: forwarded, trusted: ["127.0.0.1", "::1"])
        #expect(resolved == NetworkAddress(literal: expected))
    }

    @Test("settings are read strictly", arguments: [
        ("rate_limit", #"{"limit": true}"#), ("rate_limit", #"{"limit": 1.5}"#), ("rate_limit", #"{"limit": 0}"#),
        ("rate_limit", #"{"limit": 5, "per": "user"}"#), ("rate_limit", #"{"limit": 5, "extra": 1}"#), ("ip_allowlist", #"{"cidrs": []}"#),
        ("ip_allowlist", #"{"cidrs": "10.0.0.0/8"}"#), ("allowed_requests", #"{}"#), ("allowed_requests", #"{"methods": ["BREW"]}"#),
        ("allowed_requests", #"{"endpoints": ["ftp://x/*"]}"#), ("grant_lifetime", #"{}"#), ("requires_approval", #"{"expires_in_seconds": 1}"#),
        ("time_window", #"[]"#), ("nope", #"{}"#),
    ])
    func badSettings(kind: String, settings: String) {
        #expect(throws: PolicyCondition.Invalid.self) { try PolicyCondition(kind: kind, settings: settings) }
    }

    @Test("settings that read")
    func goodSettings() throws {
        #expect(try PolicyCondition(kind: "rate_limit", settings: #"{"limit": 5}"#) == .rateLimit(limit: 5, per: .grant))
        #expect(try PolicyCondition(kind: "requires_approval", settings: "{}") == .requiresApproval(expiresIn: 600, approvers: [.operators, .link]))
        #expect(try PolicyCondition(kind: "requires_approval", settings: #"{"approvers":["link"]}"#) == .requiresApproval(expiresIn: 600, approvers: [.link]))
        for refused in [#"{"approvers":[]}"#, #"{"approvers":["boss"]}"#] {
            #expect(throws: PolicyCondition.Invalid.self, "\(refused)") { try PolicyCondition(kind: "requires_approval", settings: refused) }
        }
        #expect(try PolicyCondition(kind: "allowed_requests", settings: #"{"methods": ["get"]}"#) == .allowedRequests(AllowedRequests(methods: Set(["GET"]), endpoints: nil)))
    }
}
