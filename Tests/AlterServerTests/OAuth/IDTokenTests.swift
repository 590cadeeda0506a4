@testable import AlterServer
import Foundation
import Testing

@Suite("OpenID Connect ID tokens in the code flow")
struct IDTokenTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let nonce = "n-0S6_WzA2Mj"

    static func jwt(_ claims: [String: any Sendable], alg: String = "RS256") -> String {
        func part(_ object: [String: any Sendable]) -> String { (try! JSONSerialization.data(withJSONObject: object)).base64URLEncodedString() }
        return part(["alg": alg, "kid": "1"]) + "." + part(claims) + ".c2ln"
    }

    static let good: [String: any Sendable] = ["iss": "https://idp.example.com", "sub": "u1", "aud": "client-1", "exp": 1_800_000_300, "nonce": nonce]

    static func with(_ change: [String: (any Sendable)?]) -> [String: any Sendable] {
        var claims = good
        for (key, value) in change { claims[key] = value }
        return claims
    }

    @Test("an ID token for this client, issuer and nonce is accepted", arguments: [
        jwt(good), jwt(with(["aud": ["client-1"]])), jwt(with(["aud": ["client-1", "other"], "azp": "client-1"])),
        jwt(with(["exp": 1_799_999_990])), jwt(with(["exp": "1800000300"])),
    ])
    func accepted(token: String) throws {
        try IDToken.check(token, nonceHash: SecretToken.hash(Self.nonce), issuer: "https://idp.example.com", clientID: "client-1", now: Self.now)
    }

    @Test("without a known issuer, iss is not compared")
    func unknownIssuer() throws {
        try IDToken.check(Self.jwt(Self.with(["iss": "https://anything"])), nonceHash: SecretToken.hash(Self.nonce), issuer: nil, clientID: "client-1", now: Self.now)
    }

    @Test("an ID token that answers another request, client, issuer or time is refused", arguments: [
        (jwt(with(["nonce": "another"])), "nonce"),
        (jwt(with(["nonce": nil])), "nonce"),
        (jwt(with(["iss": "https://evil.example.com"])), "issuer"),
        (jwt(with(["aud": "client-2"])), "not issued to this client"),
        (jwt(with(["aud": ["client-2", "client-3"]])), "not issued to this client"),
        (jwt(with(["aud": ["client-1", "other"]])), "azp"),
        (jwt(with(["aud": ["client-1", "other"], "azp": "other"])), "azp"),
        (jwt(with(["exp": 1_799_999_900])), "expired"),
        (jwt(with(["exp": nil])), "expired"),
        (jwt(good, alg: "none"), "unsigned"),
        ("not-a-jwt", "not a JWT"),
        ("a.b", "not a JWT"),
        ("e30.e30.e30.e30", "not a JWT"),
    ])
    func refused(token: String, reason: String) {
        let thrown = #expect(throws: ProviderError.self) {
            try IDToken.check(token, nonceHash: SecretToken.hash(Self.nonce), issuer: "https://idp.example.com", clientID: "client-1", now: Self.now)
        }
        #expect(thrown?.error == "invalid_id_token")
        #expect(thrown?.errorDescription?.contains(reason) == true, "\(thrown?.errorDescription ?? "")")
    }
}
