@testable import AlterServer
import Foundation
import Testing

@Suite("Sandbox rules")
struct SandboxRulesTests {
    static let client = SandboxClient(clientID: "client-sandbox", provider: "sandbox", appName: "App", redirectURIs: [redirect])
    static let redirect = "http://localhost:4000/oauth/callback"
    static let challenge = SandboxPKCE.challenge(for: String(repeating: "a", count: 43))
    static let valid = "response_type=code&client_id=client-sandbox&redirect_uri=http%3A%2F%2Flocalhost%3A4000%2Foauth%2Fcallback"
        + "&state=s&code_challenge=\(challenge)&code_challenge_method=S256"

    @Test("PKCE S256 matches the RFC 7636 appendix B example")
    func pkceVector() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        #expect(SandboxPKCE.challenge(for: verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(SandboxPKCE.verifies(verifier, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!SandboxPKCE.verifies(verifier + "x", challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!SandboxPKCE.verifies("short", challenge: SandboxPKCE.challenge(for: "short")))
    }

    @Test("a valid request keeps its state and gets the default scopes when it names none")
    func validRequest() throws {
        let request = try SandboxAuthorizationRequest(
            validating: SandboxForm(encoded: Self.valid), client: Self.client)
        #expect(request.state == "s")
        #expect(request.scopes == ["profile", "email"])
        #expect(request.codeChallenge == Self.challenge)
    }

    /// `name=value` replaces that parameter of the valid request; `+name=value` sends it a second time.
    @Test("authorization requests the sandbox refuses, and how it tells the user or the app", arguments: [
        ("client_id=other", "page"),
        ("+client_id=client-sandbox", "page"),
        ("redirect_uri=http%3A%2F%2Flocalhost%3A4000%2Foauth%2Fcallback%2F", "page"),
        ("+redirect_uri=http%3A%2F%2Flocalhost%3A4000%2Foauth%2Fcallback", "page"),
        ("response_type=token", "unsupported_response_type"),
        ("+response_type=code", "invalid_request"),
        ("+state=t", "invalid_request"),
        ("code_challenge_method=plain", "invalid_request"),
        ("+scope=a%22b", "invalid_scope"),
        ("+scope=openid", "invalid_request"),
        ("+nonce=\(String(repeating: "n", count: 256))", "invalid_request"),
    ])
    func refusals(change: String, outcome: String) {
        var pairs = Self.valid.split(separator: "&").map(String.init)
        if change.hasPrefix("+") {
            pairs.append(String(change.dropFirst()))
        } else {
            let name = change.prefix { $0 != "=" } + "="
            pairs = pairs.map { $0.hasPrefix(name) ? change : $0 }
        }
        let form = SandboxForm(encoded: pairs.joined(separator: "&"))
        do throws(SandboxAuthorizationRequest.Rejection) {
            _ = try SandboxAuthorizationRequest(validating: form, client: Self.client)
            Issue.record("accepted \(change)")
        } catch {
            switch error {
            case .page:
                #expect(outcome == "page")
            case .redirect(let error, _, let redirectURI, _):
                #expect(error == outcome)
                #expect(redirectURI == Self.redirect)
            }
        }
    }

    @Test("client credentials come from Basic or the body, never both", arguments: [
        ("Basic " + Data("client-sandbox:s%3Acret".utf8).base64EncodedString(), "", "client-sandbox|s:cret"),
        (nil, "client_id=client-sandbox&client_secret=x", "client-sandbox|x"),
        ("Basic " + Data("a:b".utf8).base64EncodedString(), "client_secret=b", "invalid_request"),
        ("Basic " + Data("a:b".utf8).base64EncodedString(), "client_id=c", "invalid_request"),
        ("Basic !!!", "", "invalid_client"),
        ("Bearer x", "", "invalid_client"),
        (nil, "client_id=client-sandbox", "invalid_client"),
    ] as [(String?, String, String)])
    func credentials(header: String?, body: String, expected: String) {
        do throws(SandboxOAuthError) {
            let credentials = try SandboxClientAuthentication.credentials(authorization: header, form: SandboxForm(encoded: body))
            #expect("\(credentials.id)|\(credentials.secret)" == expected)
        } catch {
            #expect(error.code == expected)
        }
    }

    @Test("form decoding keeps repeated parameters visible and treats empty values as absent")
    func formDecoding() {
        let form = SandboxForm(encoded: "a=1&a=2&b=&c=x+y%2Bz")
        #expect(form.repeatedNames == ["a"])
        #expect(form["b"] == nil)
        #expect(form["c"] == "x y+z")
        #expect(SandboxForm.encode([("q", "a b&c")]) == "q=a%20b%26c")
    }
}
