import Crypto
import Foundation

/// `Alter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` — the
/// timestamp is signed with the body so a captured delivery cannot be replayed later.
enum WebhookSignature {
    static func header(body: String, secret: String, at date: Date) -> String {
        let timestamp = Int(date.timeIntervalSince1970)
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=" + mac.lowercaseHex
    }

    static func newSecret() -> String { SecretToken.generate(prefix: "whsec_") }
}
