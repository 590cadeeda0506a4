import Foundation

/// The checks OpenID Connect Core §3.1.3.7 asks of an ID token the token endpoint returned in
/// the authorization code flow: issuer, audience, expiry and the `nonce` this attempt sent.
///
/// The signature is not verified: the token came straight from the token endpoint over the
/// connection the vault opened (§3.1.3.7 item 6 allows TLS server validation in place of the
/// signature), and the vault uses it only to bind the response to this attempt, never as
/// an identity assertion. An `alg` of `none` is still refused.
enum IDToken {
    /// Clock skew tolerated on `exp`.
    static let leeway: TimeInterval = 60

    static func check(
        _ token: String, nonceHash: String, issuer: String?, clientID: String, now: Date
    ) throws(ProviderError) {
        func fail(_ description: String) -> ProviderError {
            ProviderError(error: "invalid_id_token", errorDescription: description, isTransient: false)
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerData = Data(base64URLEncoded: String(parts[0])),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
            let payloadData = Data(base64URLEncoded: String(parts[1])),
            let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any]
        else {
            throw fail("the ID token is not a JWT")
        }
        guard let alg = header["alg"] as? String, alg.lowercased() != "none" else { throw fail("the ID token is unsigned") }
        // §3.1.3.7 item 11 and §15.5.2: the nonce sent in the authorization request, so a code
        // obtained for another attempt (an injected code) is refused.
        guard let nonce = claims["nonce"] as? String, SecretToken.hash(nonce) == nonceHash else {
            throw fail("the ID token's nonce is not the one this sign-in sent")
        }
        if let issuer, claims["iss"] as? String != issuer { throw fail("the ID token's issuer is not the provider's") }
        let audiences = (claims["aud"] as? String).map { [$0] } ?? (claims["aud"] as? [String]) ?? []
        guard audiences.contains(clientID) else { throw fail("the ID token was not issued to this client") }
        if audiences.count > 1, claims["azp"] as? String != clientID { throw fail("the ID token's azp is not this client") }
        guard let exp = TokenResponseParser.number(claims["exp"]), exp.isFinite, now.timeIntervalSince1970 < exp + leeway else {
            throw fail("the ID token has expired")
        }
    }

    /// True when `scopes` ask for an ID token (OIDC Core §3.1.2.1).
    static func isRequested(by scopes: [String]) -> Bool { scopes.contains("openid") }
}
