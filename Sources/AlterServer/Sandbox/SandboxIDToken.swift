import Crypto
import Foundation

/// The OpenID Connect ID token the sandbox returns when `openid` was granted (OIDC Core
/// §2, §3.1.3.3): HS256-signed with the client secret (§10.1), carrying the request's nonce.
enum SandboxIDToken {
    static let lifetime: TimeInterval = 600

    static func make(
        issuer: String, account: SandboxAccount, clientID: String, clientSecret: String, nonce: String?, now: Date
    ) -> String {
        var claims: [String: Any] = [
            "iss": issuer, "sub": account.id, "aud": clientID, "email": account.email, "name": account.name,
            "iat": Int(now.timeIntervalSince1970), "exp": Int(now.addingTimeInterval(lifetime).timeIntervalSince1970),
        ]
        claims["nonce"] = nonce
        func encode(_ object: [String: Any]) -> String {
            ((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()).base64URLEncodedString()
        }
        let input = encode(["alg": "HS256", "typ": "JWT"]) + "." + encode(claims)
        let signature = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(clientSecret.utf8)))
        return input + "." + Data(signature).base64URLEncodedString()
    }
}
