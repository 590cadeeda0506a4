@testable import AlterServer
import Foundation
import NIOHTTP1
import Testing

/// A Connect session's `grant_policy` and `requested_grant`, read as the grants' terms: tables
/// of what is accepted and refused, and what a re-authorizing session changes.
@Suite("Grant terms from a Connect session")
struct GrantTermsTests {
    static func json(_ text: String) -> LooseJSON { try! JSONDecoder().decode(LooseJSON.self, from: Data(text.utf8)) }

    @Test("grant_policy: the lifetime is the default, else the maximum", arguments: [
        (#"{"max_ttl_seconds": 3600}"#, 3600),
        (#"{"max_ttl_seconds": 3600, "default_ttl_seconds": 60}"#, 60),
        (#"{"default_ttl_seconds": 5}"#, 5),
    ])
    func lifetimes(policy: String, seconds: Int) throws {
        let terms = try #require(try GrantTerms(grantPolicy: Self.json(policy), requestedGrant: nil))
        #expect(terms.lifetime?.seconds == seconds && terms.restrictions == nil)
    }

    @Test("bad grant_policy values are refused with invalid_grant_policy", arguments: [
        #"{"max_ttl_seconds": 0}"#, #"{"max_ttl_seconds": 315360001}"#, #"{"max_ttl_seconds": "60"}"#, #"{"max_ttl_seconds": true}"#,
        #"{"max_ttl_seconds": 1.5}"#, #"{"max_ttl_seconds": 60, "default_ttl_seconds": 61}"#, #"{"expires_at": "2030-01-01T00:00:00Z"}"#,
        #"{"maxTtlSeconds": 60}"#, #"[60]"#, #""60""#,
    ])
    func badPolicies(policy: String) {
        do {
            _ = try GrantTerms(grantPolicy: Self.json(policy), requestedGrant: nil)
            Issue.record("\(policy) was accepted")
        } catch {
            #expect(error.code == .invalidGrantPolicy && error.status == .unprocessableEntity)
        }
    }

    @Test("bad requested_grant values are refused with invalid_requested_grant", arguments: [
        #"{"restrictions": {"allowed_methods": ["GET"]}}"#, #"{"label": ""}"#, #"{"label": 7}"#, #"{"label": "x", "scope": "all"}"#,
        #"{"label": "x", "restrictions": {"allowed_methods": ["FETCH"]}}"#, #"{"label": "x", "restrictions": {"allowed_methods": []}}"#,
        #"{"label": "x", "restrictions": {"allowed_endpoints": ["ftp://h/*"]}}"#, #"{"label": "x", "restrictions": {"allowed_endpoints": ["https://h/a?b=*"]}}"#,
        #"{"label": "x", "restrictions": {"allowedMethods": ["GET"]}}"#, #"{"label": "x", "restrictions": {"allowed_methods": "GET"}}"#,
    ])
    func badRequestedGrants(requested: String) {
        do {
            _ = try GrantTerms(grantPolicy: nil, requestedGrant: Self.json(requested))
            Issue.record("\(requested) was accepted")
        } catch {
            #expect(error.code == .invalidRequestedGrant)
        }
    }

    @Test("a label alone, or empty restrictions, restricts nothing")
    func nothingToRestrict() throws {
        #expect(try GrantTerms(grantPolicy: nil, requestedGrant: Self.json(#"{"label": "reader"}"#)) == nil)
        #expect(try GrantTerms(grantPolicy: nil, requestedGrant: Self.json(#"{"label": "reader", "restrictions": {}}"#)) == nil)
        #expect(try GrantTerms(grantPolicy: Self.json("null"), requestedGrant: Self.json(#"{"label": "r", "restrictions": null}"#)) == nil)
    }

    @Test("restrictions are read by the one AllowedRequests test the rules use")
    func restrictionsMatch() throws {
        let terms = try #require(try GrantTerms(grantPolicy: nil, requestedGrant: Self.json(
            #"{"label": "r", "restrictions": {"allowed_methods": ["get"], "allowed_endpoints": ["https://api.example.com/v1/*"]}}"#)))
        let allowed = try terms.restrictions!.allowed()
        #expect(allowed.permits(method: "GET", url: "https://API.example.com/v1/users?page=2"))
        #expect(!allowed.permits(method: "POST", url: "https://api.example.com/v1/users"))
        #expect(!allowed.permits(method: "GET", url: "https://api.example.com/v2/users"))
        #expect(!allowed.permits(method: nil, url: nil))
    }

    @Test("a re-authorizing session replaces the kinds of terms it sets and keeps the others")
    func overriding() throws {
        let lifetime = GrantTerms.Lifetime(maxTTLSeconds: 60, defaultTTLSeconds: nil)
        let restrictions = GrantTerms.Restrictions(allowedMethods: ["GET"], allowedEndpoints: nil)
        let first = GrantTerms(lifetime: lifetime, restrictions: restrictions)
        let longer = GrantTerms(lifetime: .init(maxTTLSeconds: 600, defaultTTLSeconds: nil), restrictions: nil)
        #expect(first.overridden(by: longer) == GrantTerms(lifetime: longer.lifetime, restrictions: restrictions))
        #expect(first.overridden(by: nil) == first)
        #expect(try GrantTerms.read(first.json) == first)
    }
}
