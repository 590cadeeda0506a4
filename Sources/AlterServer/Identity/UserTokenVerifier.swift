import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore
import NIOHTTP1

/// Verifies an app's `user_token` (a JWT from the app's own identity provider) and returns
/// its `sub`. Only the subject is kept; the token itself is never stored or logged.
struct UserTokenVerifier: Sendable {
    static let defaultAlgorithms = ["RS256", "ES256"]
    static let supportedAlgorithms: Set<String> = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA"]
    /// Allowed clock difference between this server and the token issuer.
    static let leeway: TimeInterval = 60

    let jwksCache: JWKSCache
    let now: @Sendable () -> Date

    struct Claims: JWTPayload {
        var sub: SubjectClaim?
        var iss: IssuerClaim?
        var aud: AudienceClaim?
        var exp: ExpirationClaim?
        var nbf: NotBeforeClaim?

        // Claims are checked by `verify(_:for:)` against the app's settings and our clock.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// - Returns: the token's `sub`.
    /// - Throws: `APIError` `identity_not_configured` (400) or `invalid_user_token` (401).
    func verify(_ token: String, for app: ClientApp) async throws -> String {
        guard app.hasJWTIdentity, let issuer = app.jwtIssuer else {
            throw APIError(.identityNotConfigured, "user_token was sent but this app has no JWT identity configured (see `alter apps identity`).")
        }
        func reject(_ why: String) -> APIError { APIError(.invalidUserToken, "user_token was rejected: \(why).") }

        guard token.count <= 8192, token.split(separator: ".", omittingEmptySubsequences: false).count == 3 else {
            throw reject("it is not a JWT")
        }
        let algorithm = try Self.headerAlgorithm(of: token) ?? { throw reject("its header is malformed") }()
        let allowed = app.jwtAlgorithms ?? Self.defaultAlgorithms
        guard allowed.contains(algorithm), Self.supportedAlgorithms.contains(algorithm) else {
            throw reject("algorithm \(algorithm) is not allowed (allowed: \(allowed.joined(separator: ", ")))")
        }

        let keys = try await keyCollection(for: app)
        let claims: Claims
        do {
            // Tokens without a `kid` are tried against every key of the JWKS.
            claims = try await keys.verify(token, as: Claims.self, iteratingKeys: true)
        } catch {
            throw reject("the signature does not verify with the app's keys")
        }
        let now = now()
        guard let exp = claims.exp else { throw reject("it has no exp claim") }
        guard exp.value.addingTimeInterval(Self.leeway) > now else { throw reject("it has expired") }
        if let nbf = claims.nbf, nbf.value.addingTimeInterval(-Self.leeway) > now { throw reject("it is not valid yet (nbf)") }
        guard claims.iss?.value == issuer else { throw reject("the issuer does not match") }
        if let audience = app.jwtAudience {
            guard claims.aud?.value.contains(audience) == true else { throw reject("the audience does not match") }
        }
        guard let subject = claims.sub?.value, !subject.isEmpty, subject.count <= 255 else {
            throw reject("it has no sub claim")
        }
        guard !subject.hasPrefix(Self.reservedSubjectPrefix) else {
            throw reject("its sub claim uses a prefix the vault reserves")
        }
        return subject
    }

    /// Subjects the vault makes up for anonymous grants (`Grant.anonymousSubject`); a token
    /// claiming one could otherwise speak for such a grant.
    static let reservedSubjectPrefix = "alter:anonymous:"

    private func keyCollection(for app: ClientApp) async throws -> JWTKeyCollection {
        let keys = JWTKeyCollection()
        if let pem = app.jwtPublicKeyPEM {
            if let key = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: key)
            } else if let key = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: key, digestAlgorithm: .sha256)
            } else if let key = try? EdDSA.PublicKey(pem: pem) {
                await keys.add(eddsa: key)
            } else {
                throw APIError(.identityNotConfigured, "The app's JWT public key cannot be read; configure a PEM EC, RSA or Ed25519 public key.")
            }
        }
        if let url = app.jwtJWKSURL {
            let json = try await jwksCache.jwks(at: url)
            do {
                try await keys.add(jwksJSON: json)
            } catch {
                throw APIError(.invalidUserToken, "user_token was rejected: the app's JWKS document is invalid.")
            }
        }
        return keys
    }

    static func headerAlgorithm(of token: String) -> String? {
        guard let header = token.split(separator: ".").first, let data = Data(base64URLEncoded: String(header)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["alg"] as? String
    }
}

/// Fetches JWKS documents and keeps them for a few minutes, so verifying a user token does
/// not cost an HTTP round trip per request.
actor JWKSCache {
    private var entries: [String: (json: String, fetchedAt: Date)] = [:]
    private let client: HTTPClient
    private let ttl: TimeInterval = 300
    private let maxBytes = 256 * 1024

    init(client: HTTPClient) { self.client = client }

    func jwks(at url: String) async throws -> String {
        if let entry = entries[url], Date().timeIntervalSince(entry.fetchedAt) < ttl { return entry.json }
        let unavailable = APIError(.invalidUserToken, "user_token could not be checked: the app's JWKS URL is unreachable.")
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            let response = try await client.collect(request, timeout: .seconds(5), upTo: maxBytes)
            guard response.status == .ok else { throw unavailable }
            let json = String(buffer: response.body)
            entries[url] = (json, Date())
            return json
        } catch let error as APIError {
            throw error
        } catch {
            throw unavailable
        }
    }
}
