import Crypto
import Foundation

/// RFC 7636 proof key: a random verifier and its S256 challenge.
struct PKCE: Sendable {
    let verifier: String
    var challenge: String { Self.challenge(for: verifier) }

    /// 43 characters of base64url: 256 bits of entropy, within RFC 7636's 43–128.
    static func generate() -> PKCE { PKCE(verifier: SecretToken.randomString(bytes: 32)) }

    static func challenge(for verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString()
    }
}
