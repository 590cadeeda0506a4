import Fluent
import Foundation

/// JWT identity settings of an app (how its `user_token`s are verified), for
/// `alter apps identity` and the portal: checked here, then stored on the app.
struct IdentitySettings: Equatable {
    var issuer: String
    var audience: String?
    var jwksURL: String?
    var publicKeyPEM: String?
    /// nil: the verifier's default allow-list.
    var algorithms: [String]?

    /// Checks every value; throws `APIError` (`invalid_request`) naming the first problem.
    func check() throws {
        guard !issuer.trimmingCharacters(in: .whitespaces).isEmpty else { throw APIError.invalidRequest("The issuer is required.") }
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
