import Fluent
import Foundation

/// JWT identity settings of an app (how its `user_token`s are verified), for
/// `alter apps identity` and the portal: checked here, then stored on the app.
struct IdentitySettings: Equatable {
    var issuer: String
    var audience: String?
    /// Accept tokens for any audience: only for an issuer that serves this app alone (review F10).
    var anyAudience = false
    /// Expected `azp`, when set.
    var authorizedParty: String?
    var jwksURL: String?
    var publicKeyPEM: String?
    /// nil: the verifier's default allow-list.
    var algorithms: [String]?

    /// Checks every value; throws `APIError` (`invalid_request`) naming the first problem.
    func check() throws {
        guard !issuer.trimmingCharacters(in: .whitespaces).isEmpty else { throw APIError.invalidRequest("The issuer is required.") }
        // Review F10: without an audience, a multi-client issuer's token for any other site passes.
        guard (audience?.isEmpty == false) != anyAudience else {
            throw APIError.invalidRequest("Give the audience (the `aud` your issuer puts in tokens for this app; --audience), or accept any audience explicitly (--any-audience).")
        }
        guard (jwksURL == nil) != (publicKeyPEM == nil) else {
            throw APIError.invalidRequest("Give exactly one of a JWKS URL or a public key.")
        }
        if let url = jwksURL {
            guard let parsed = URL(string: url), parsed.host != nil,
                parsed.scheme == "https" || (parsed.scheme == "http" && AllowedOrigin.isLoopback(parsed.host ?? ""))
            else { throw APIError.invalidRequest("The JWKS URL must be an https URL.") }
        }
        if let pem = publicKeyPEM, !pem.contains("-----BEGIN PUBLIC KEY-----") {
            throw APIError.invalidRequest("The public key must be a PEM public key (-----BEGIN PUBLIC KEY-----).")
        }
        if let algorithms {
            guard !algorithms.isEmpty, algorithms.allSatisfy(UserTokenVerifier.supportedAlgorithms.contains) else {
                throw APIError.invalidRequest("The algorithms must be some of \(UserTokenVerifier.supportedAlgorithms.sorted().joined(separator: ", ")).")
            }
        }
    }

    /// Checks, then sets the app's fields (the caller saves the app).
    func apply(to app: ClientApp) throws {
        try check()
        app.jwtIssuer = issuer.trimmingCharacters(in: .whitespaces)
        app.jwtAudience = audience
        app.jwtAnyAudience = anyAudience ? true : nil
        app.jwtAuthorizedParty = authorizedParty
        app.jwtJWKSURL = jwksURL
        app.jwtPublicKeyPEM = publicKeyPEM
        app.jwtAlgorithms = algorithms
    }

    /// `"RS256, ES256"` → `["RS256", "ES256"]`; empty → nil.
    static func algorithms(_ list: String?) -> [String]? {
        let parsed = (list ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return parsed.isEmpty ? nil : parsed
    }
}
