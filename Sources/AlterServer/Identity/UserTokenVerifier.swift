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
        var azp: String?

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
        guard app.jwtAudience != nil || app.jwtAnyAudience == true else {
            throw APIError(
                .identityNotConfigured,
                "This app's JWT identity has no audience, so a token the issuer made for any other client would pass; set one with `alter apps identity --audience …` (or opt out with --any-audience).")
        }
        let header = try Self.header(of: token) ?? { throw reject("its header is malformed") }()
        guard let algorithm = header["alg"] as? String else { throw reject("its header is malformed") }
        if let type = header["typ"] {
            // RFC 8725 §3.11: a typed JWT of another kind (logout, DPoP proof, event) is no user token.
            guard let type = type as? String, Self.acceptedTypes.contains(Self.mediaType(type)) else { throw reject("its typ header is not a user token type") }
        }
        let allowed = app.jwtAlgorithms ?? Self.defaultAlgorithms
        guard allowed.contains(algorithm), Self.supportedAlgorithms.contains(algorithm) else {
            throw reject("algorithm \(algorithm) is not allowed (allowed: \(allowed.joined(separator: ", ")))")
        }

        let keys = try await keyCollection(for: app, kid: header["kid"] as? String)
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
        if let party = app.jwtAuthorizedParty {
            guard claims.azp == party else { throw reject("the authorized party (azp) does not match") }
        } else if let azp = claims.azp, let audience = app.jwtAudience, (claims.aud?.value.count ?? 0) > 1, azp != audience {
            // OIDC Core §3.1.3.7: with several audiences, azp names the client the token is for.
            throw reject("the authorized party (azp) does not match")
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

    private func keyCollection(for app: ClientApp, kid: String?) async throws -> JWTKeyCollection {
        if let url = app.jwtJWKSURL, app.jwtPublicKeyPEM == nil { return try await jwksCache.keys(at: url, kid: kid) }
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
        return keys
    }

    /// `typ` values (RFC 7515 §4.1.9: case-insensitive, `application/` may be left out) of
    /// tokens that say who a user is: plain JWTs, ID tokens and RFC 9068 access tokens.
    static let acceptedTypes: Set<String> = ["jwt", "at+jwt", "id_token+jwt"]

    static func mediaType(_ type: String) -> String {
        let lower = type.lowercased()
        return lower.hasPrefix("application/") ? String(lower.dropFirst("application/".count)) : lower
    }

    static func header(of token: String) -> [String: Any]? {
        guard let header = token.split(separator: ".").first, let data = Data(base64URLEncoded: String(header)) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }
}

/// Fetches JWKS documents and keeps them, parsed, for a few minutes, so verifying a user
/// token costs no HTTP round trip and no JSON parse per request.
///
/// A token whose `kid` the cached document lacks (the issuer rotated its keys) makes the
/// document be fetched again at once, at most once per `refetchInterval` per URL, so a flood
/// of made-up `kid`s cannot turn into a flood of fetches (security review F21). A failed fetch
/// is remembered for `failureTTL`, so a JWKS that is down does not make each request wait.
actor JWKSCache {
    static let ttl: TimeInterval = 300
    static let refetchInterval: TimeInterval = 30
    static let failureTTL: TimeInterval = 10
    static let maxBytes = 256 * 1024

    private struct Entry {
        let keys: JWTKeyCollection
        let kids: Set<String>
        let fetchedAt: Date
    }

    private var entries: [String: Entry] = [:]
    private var unknownKidRefetches: [String: Date] = [:]
    private var failures: [String: Date] = [:]
    private let client: OutboundHTTP

    init(client: OutboundHTTP) { self.client = client }

    /// The keys at `url`, fetched again first when `kid` is not among them (rate-limited).
    func keys(at url: String, kid: String?) async throws -> JWTKeyCollection {
        let now = Date()
        if let entry = entries[url], now.timeIntervalSince(entry.fetchedAt) < Self.ttl {
            guard let kid, !entry.kids.contains(kid) else { return entry.keys }
            if let last = unknownKidRefetches[url], now.timeIntervalSince(last) < Self.refetchInterval { return entry.keys }
            unknownKidRefetches[url] = now
        }
        return try await fetch(url, now: now)
    }

    private func fetch(_ url: String, now: Date) async throws -> JWTKeyCollection {
        let unavailable = APIError(.invalidUserToken, "user_token could not be checked: the app's JWKS URL is unreachable.")
        if let failed = failures[url], now.timeIntervalSince(failed) < Self.failureTTL { throw unavailable }
        let json: String
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            // The operator typed this URL: loopback only when it names loopback itself.
            let rule = AddressRule.configuredURL(host: URLComponents(string: url)?.host ?? "")
            let response = try await client.collect(request, rule: rule, timeout: .seconds(5), upTo: Self.maxBytes)
            guard response.status == .ok else { throw unavailable }
            json = String(buffer: response.body)
        } catch {
            failures[url] = now
            throw unavailable
        }
        let keys = JWTKeyCollection()
        do {
            try await keys.add(jwksJSON: json)
        } catch {
            failures[url] = now
            throw APIError(.invalidUserToken, "user_token was rejected: the app's JWKS document is invalid.")
        }
        failures[url] = nil
        let document = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
        let kids = ((document?["keys"] as? [[String: Any]]) ?? []).compactMap { $0["kid"] as? String }
        entries[url] = Entry(keys: keys, kids: Set(kids), fetchedAt: now)
        return keys
    }
}
