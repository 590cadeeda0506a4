@testable import AlterServer
import Foundation
import Testing

@Suite("Authorization responses: the parameters a provider sends back")
struct AuthorizationResponseTests {
    static let state = String(repeating: "s", count: 43)

    @Test("a well-formed response", arguments: [
        ("state=\(state)&code=abc", AuthorizationResponse.Answer.code("abc"), nil as String?),
        ("code=a%2Bb+c&state=\(state)&iss=https%3A%2F%2Fidp.example.com", .code("a+b c"), "https://idp.example.com"),
        ("state=\(state)&error=access_denied&error_description=No+thanks&iss=x", .error("access_denied", description: "No thanks"), "x"),
        ("state=\(state)&error=server_error", .error("server_error", description: nil), nil),
        ("state=\(state)&code=abc&iss=", .code("abc"), nil),
        ("state=\(state)&code=abc&session_state=1&scope=a+b", .code("abc"), nil),
    ])
    func accepted(query: String, answer: AuthorizationResponse.Answer, issuer: String?) throws {
        let response = try AuthorizationResponse(query: query)
        #expect(response.state == Self.state)
        #expect(response.answer == answer)
        #expect(response.issuer == issuer)
    }

    /// RFC 6749 §3.1: parameters must not be repeated; Vapor's decoder would keep the last one.
    @Test("a repeated, missing or contradictory parameter is refused", arguments: [
        ("state=\(state)&state=\(state)&code=abc", "state more than once", nil as String?),
        ("state=\(state)&code=abc&code=def", "code more than once", state),
        ("state=\(state)&code=abc&iss=a&iss=b", "iss more than once", state),
        ("state=\(state)&code=abc&iss=a&iss=a", "iss more than once", state),
        ("state=\(state)&error=a&error=access_denied", "error more than once", state),
        ("state=\(state)&error=a&error_description=x&error_description=y", "error_description more than once", state),
        ("code=abc", "no state", nil),
        ("state=&code=abc", "no state", nil),
        ("", "no state", nil),
        (nil, "no state", nil),
        ("state=\(state)", "no authorization code", state),
        ("state=\(state)&code=", "no authorization code", state),
        ("state=\(state)&code=abc&error=access_denied", "both a code and an error", state),
        ("state=\(state)&code=\(String(repeating: "c", count: 2049))", "longer than 2048", state),
    ] as [(String?, String, String?)])
    func refused(query: String?, rule: String, state: String?) {
        #expect {
            try AuthorizationResponse(query: query)
        } throws: { error in
            guard let violation = error as? AuthorizationResponse.Violation else { return false }
            return violation.rule.contains(rule) && violation.state == state
        }
    }

    @Test("an error response without iss is taken even where iss is required: it cannot carry a code")
    func errorWithoutIssuer() throws {
        let response = try AuthorizationResponse(query: "state=\(Self.state)&error=access_denied")
        #expect(response.issuerProblem(expected: "https://a", required: true, knownIssuers: ["https://a"]) == nil)
    }

    @Test("the iss rule (RFC 9207 §2.4)", arguments: [
        (nil as String?, "https://a", true, false),
        (nil, "https://a", false, true),
        (nil, nil, false, true),
        ("https://a", "https://a", true, true),
        ("https://b", "https://a", false, false),
        ("https://a/", "https://a", false, false),
        ("https://other", nil, false, false),
        ("https://unknown", nil, false, true),
    ] as [(String?, String?, Bool, Bool)])
    func issuer(sent: String?, expected: String?, required: Bool, accepted: Bool) throws {
        let query = "state=\(Self.state)&code=c" + (sent.map { "&iss=" + FormEncoding.escape($0) } ?? "")
        let response = try AuthorizationResponse(query: query)
        #expect((response.issuerProblem(expected: expected, required: required, knownIssuers: ["https://a", "https://other"]) == nil) == accepted)
    }
}
