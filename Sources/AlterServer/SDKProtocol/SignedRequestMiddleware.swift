import Fluent
import Foundation
import Vapor

/// Admits an `/sdk/*` request only when it is signed by a live app or agent key (reference §3.6):
/// the body's SHA-256, the clock and the signature (`RequestSignature`, pure), then the key
/// from `x-api-key` (looked up by `AppKeys`, the same as `/v1`), and last the nonce, so a
/// refused request claims nothing. Every refusal is a 401 with its own code and changes
/// nothing (not even the key's last-used time).
///
/// The routes behind it collect their body first (`body: .collect`): the signature covers
/// the exact bytes received.
struct SignedRequestMiddleware: AsyncMiddleware {
    static let maxBodyBytes = 15 * 1024 * 1024

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let apiKey = request.headers.first(name: "x-api-key"), !apiKey.isEmpty else { throw SDKError.missingKey }
        guard APIKey.isWellFormed(apiKey) else { throw SDKError.invalidKey }
        guard let signature = Self.signature(of: request) else { throw SDKError.missingSignature }
        let body = try await request.body.collect(max: Self.maxBodyBytes).get().map { Array($0.readableBytesView) } ?? []
        let now = request.application.clock.now()
        // The pure checks first: a request that fails them reads and writes nothing.
        do {
            try signature.verify(body: body, key: RequestSignature.signingKey(for: apiKey), now: now)
        } catch {
            switch error {
            case .contentHashMismatch: throw SDKError.contentHashMismatch
            case .timestampOutOfRange: throw SDKError.timestampOutOfRange
            case .invalidSignature: throw SDKError.invalidSignature
            }
        }
        let authenticated: AuthenticatedApp
        do {
            authenticated = try await AppKeys.authenticate(apiKey, on: request)
        } catch let rejection as AppKeys.Rejection {
            throw rejection == .revoked ? SDKError.keyRevoked : SDKError.invalidKey
        }
        // A nonce must stay unique for as long as its timestamp is acceptable.
        let expiry = Date(timeIntervalSince1970: (Double(signature.timestamp) ?? 0) + RequestSignature.allowedSkew)
        guard try await request.application.nonceStore.claim(signature.nonce, keyID: authenticated.keyID, until: expiry, now: now, on: request.db)
        else { throw SDKError.nonceReused }
        // A UUID caller acts as that agent (reference §5); the header is signed (V2).
        try await request.admit(authenticated, callerHeader: request.headers.first(name: "X-Alter-Caller"))
        return try await next.respond(to: request)
    }

    /// The signature headers, or nil when a required one is missing or malformed.
    static func signature(of request: Request) -> RequestSignature? {
        typealias Header = RequestSignature.Header
        let headers = request.headers
        guard let timestamp = headers.first(name: Header.timestamp), let nonce = headers.first(name: Header.nonce),
            (16...128).contains(nonce.count), nonce.allSatisfy({ $0.isASCII && ($0.isHexDigit) }),
            let contentSHA256 = headers.first(name: Header.contentSHA256), let signature = headers.first(name: Header.signature)
        else { return nil }
        var identity: [String: String] = [:]
        for header in Header.identity {
            if let value = headers.first(name: header.name) { identity[header.label] = value }
        }
        return RequestSignature(
            method: request.method.rawValue, target: request.url.string, timestamp: timestamp, nonce: nonce,
            contentSHA256: contentSHA256, signature: signature, signatureV2: headers.first(name: Header.signatureV2),
            scopeConstraints: headers.first(name: Header.scopeConstraints), requestRule: headers.first(name: Header.requestRule),
            identity: identity)
    }
}
