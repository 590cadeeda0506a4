import Foundation
import Vapor

/// An error in the official SDK's envelope: `{"error": code, "message": …, <fields>}` at the
/// top level, which the SDK maps to its exception classes by status and code (reference §8).
struct SDKError: Error, Sendable, CustomStringConvertible {
    let status: HTTPResponseStatus
    let code: String
    let message: String
    var fields: [String: WireValue] = [:]
    /// Seconds for a `Retry-After` header (the SDK's RateLimitError reads it first).
    var retryAfter: Int?

    var description: String { "\(status.code) \(code): \(message)" }

    // The 401s of `SignedRequestMiddleware`, one code per reason.
    static let missingKey = SDKError(status: .unauthorized, code: "invalid_key", message: "Send the app key in the x-api-key header.")
    static let invalidKey = SDKError(status: .unauthorized, code: "invalid_key", message: "The app key is malformed or not recognised.")
    static let keyRevoked = SDKError(status: .unauthorized, code: "key_revoked", message: "The app key has been revoked.")
    static let missingSignature = SDKError(
        status: .unauthorized, code: "missing_signature",
        message: "Signed requests need X-Alter-Timestamp, X-Alter-Nonce, X-Alter-Content-SHA256 and X-Alter-Signature.")
    static let contentHashMismatch = SDKError(
        status: .unauthorized, code: "content_hash_mismatch", message: "X-Alter-Content-SHA256 is not the SHA-256 of the body received.")
    static let timestampOutOfRange = SDKError(
        status: .unauthorized, code: "timestamp_out_of_range", message: "X-Alter-Timestamp is more than 300 seconds from the server's clock.")
    static let invalidSignature = SDKError(status: .unauthorized, code: "invalid_signature", message: "The request signature does not verify.")
    static let nonceReused = SDKError(status: .unauthorized, code: "nonce_reused", message: "This X-Alter-Nonce was already used: requests cannot be replayed.")

    /// The SDK's view of one of our API errors: same rule, the status and code its
    /// exception map expects (e.g. `credential_revoked` is a 403 there, a 409 on `/v1`).
    init(_ error: APIError) {
        var status = error.status
        var code = error.code.rawValue
        switch error.code {
        case .invalidUserToken: code = "jwt_validation_error"
        case .credentialRevoked, .grantRevoked: status = .forbidden
        case .hostNotAllowed: status = .unprocessableEntity; code = "blocked_destination"
        // The SDK's NoDelegatedGrantError (404, with provider_id and agent_id).
        case .agentNotDelegated: status = .notFound; code = "no_delegated_grant"
        // The SDK's KeyAlreadyRevokedError: `key_revoked` with 409 (401 is the auth refusal).
        case .keyAlreadyRevoked: code = "key_revoked"
        default: break
        }
        var fields: [String: WireValue] = [:]
        // Numbers the SDK reads as numbers (a rate limit's `limit`, `window_seconds`, `retry_after`).
        for (name, value) in error.details ?? [:] { fields[name] = Self.numericFields.contains(name) ? Int(value).map(WireValue.int) ?? .string(value) : .string(value) }
        if error.code == .upstreamTimeout { fields["timeout_reason"] = .string("upstream_timeout") }
        self.init(status: status, code: code, message: error.message, fields: fields)
        retryAfter = error.retryAfter
    }

    static let numericFields: Set<String> = ["limit", "window_seconds", "retry_after"]

    init(status: HTTPResponseStatus, code: String, message: String, fields: [String: WireValue] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
    }

    var body: [String: WireValue] {
        fields.merging(["error": .string(code), "message": .string(message)]) { _, envelope in envelope }
    }
}

/// A JSON value for the SDK's open-ended shapes (error fields, proxy headers).
enum WireValue: Encodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([WireValue])
    case object([String: WireValue])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    static func optional(_ value: String?) -> WireValue { value.map(WireValue.string) ?? .null }
}

/// Every `/sdk/*` response: errors in the SDK's envelope, and the headers the SDK reads:
/// `X-Request-ID` (`RequestIDMiddleware`'s), `X-Alter-Actor-ID` (the principal: the agent of
/// an agent key, else the app) and `X-Alter-Key-Deprecated` for a deprecated key.
struct SDKEnvelopeMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        // RequestIDMiddleware's id; the SDK reads the header and keeps extra body fields in `details`.
        let requestID = request.requestID
        let response: Response
        do {
            response = try await next.respond(to: request)
        } catch {
            let sdkError: SDKError
            switch error {
            case let error as SDKError: sdkError = error
            default: sdkError = SDKError(APIErrorMiddleware.apiError(for: error, request: request))
            }
            response = Response(status: sdkError.status)
            if let seconds = sdkError.retryAfter { response.headers.replaceOrAdd(name: .retryAfter, value: String(seconds)) }
            try response.content.encode(sdkError.body.merging(["request_id": .string(requestID)]) { envelope, _ in envelope }, as: .json)
        }
        response.headers.replaceOrAdd(name: "X-Request-ID", value: requestID)
        response.headers.replaceOrAdd(name: "Alter-Source", value: "vault")
        response.headers.cacheControl = .init(noStore: true)
        if let caller = request.storage[CallerKey.self],
            let id = caller.kind == .agentKey ? caller.agentID : caller.app.id
        {
            response.headers.replaceOrAdd(name: "X-Alter-Actor-ID", value: id.lowercasedString)
        }
        request.markDeprecatedKey(on: response)
        return response
    }

}
