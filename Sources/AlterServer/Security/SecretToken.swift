import Crypto
import Foundation

/// Random bearer secrets (app keys, session tokens, OAuth state) and their stored form.
///
/// Only `SHA-256(secret)` is ever stored, so a database leak does not hand out usable keys.
enum SecretToken {
    /// `prefix` + 43 base64url characters (256 random bits).
    static func generate(prefix: String) -> String {
        prefix + randomString(bytes: 32)
    }

    static func randomString(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64URLEncodedString()
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).lowercaseHex
    }

    /// True when `token` has the shape `prefix` + 43 base64url characters; anything else is
    /// rejected before touching the database.
    static func isWellFormed(_ token: String, prefix: String) -> Bool {
        guard token.hasPrefix(prefix) else { return false }
        let body = token.dropFirst(prefix.count)
        return body.count == 43 && body.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}
