import Fluent
import Vapor

/// The one error type of the HTTP API: a stable wire `code`, a message safe to show,
/// optional `details`, and the HTTP status, which belongs to the code. `APIErrorMiddleware` renders it as
/// `{"error": {"code", "message", "details"?, "request_id"}}`.
struct APIError: Error, Sendable, CustomStringConvertible {
    /// Stable, machine-readable error codes (the raw values are the wire codes).
    enum Code: String, Sendable, Codable, CaseIterable {
        case invalidRequest = "invalid_request"
        case invalidOrigin = "invalid_origin"
        case invalidReturnURL = "invalid_return_url"
        case missingOrigin = "missing_origin"
        case noProviders = "no_providers"
        case unknownProvider = "unknown_provider"
        case unauthorized = "unauthorized"
        case invalidUserToken = "invalid_user_token"
        case identityNotConfigured = "identity_not_configured"
        case invalidToken = "invalid_token"
        case sessionExpired = "session_expired"
        case oauthDenied = "oauth_denied"
        case oauthProviderError = "oauth_provider_error"
        case notFound = "not_found"
        case grantNotFound = "grant_not_found"
        case ambiguousGrant = "ambiguous_grant"
        case agentNotDelegated = "agent_not_delegated"
        case agentNotFound = "agent_not_found"
        case agentNameExists = "agent_name_exists"
        case agentInactive = "agent_inactive"
        case agentRevoked = "agent_revoked"
        case callerAgentUnresolved = "caller_agent_unresolved"
        case callerAgentMismatch = "caller_agent_mismatch"
        case agentKeyNotAllowed = "agent_key_not_allowed"
        case agentUserTokenRefused = "agent_user_token_refused"
        case meRequiresAgentKey = "me_requires_agent_key"
        case keyNotFound = "key_not_found"
        case lastActiveKey = "last_active_key"
        case keyAlreadyRevoked = "key_already_revoked"
        case agentKeyLimitReached = "agent_key_limit_reached"
        case agentScopeDenied = "agent_scope_denied"
        case agentConcurrentUpdate = "agent_concurrent_update"
        case hostNotAllowed = "host_not_allowed"
        case credentialRevoked = "credential_revoked"
        case grantRevoked = "grant_revoked"
        case grantExpired = "grant_expired"
        case tokenRefreshInProgress = "token_refresh_in_progress"
        case refreshFailed = "refresh_failed"
        case upstreamUnreachable = "upstream_unreachable"
        case upstreamTimeout = "upstream_timeout"
        case bodyTooLarge = "body_too_large"
        case internalError = "internal_error"
        // Policies (`Policies/`): each rule kind's refusal, and fail-closed `policy_error`.
        case outsideTimeWindow = "outside_time_window"
        case ipNotAllowed = "ip_not_allowed"
        case requestNotAllowed = "request_not_allowed"
        case policyError = "policy_error"
        case rateLimitExceeded = "rate_limit_exceeded"
        case hitlGrantRequiresProxy = "hitl_grant_requires_proxy"
        case policyNotFound = "policy_not_found"
        // A Connect session's grant_policy / requested_grant that does not read (422, as Alter's backend answers).
        case invalidGrantPolicy = "invalid_grant_policy"
        case invalidRequestedGrant = "invalid_requested_grant"
        // Approvals: the SDK maps the three terminal codes to its Approval*Error classes.
        case approvalNotFound = "approval_not_found"
        case approvalPending = "approval_pending"
        case approvalDenied = "approval_denied"
        case approvalExpired = "approval_expired"
        case approvalExecutionFailed = "approval_execution_failed"
        case approvalDecided = "approval_decided"
        case approverNotAllowed = "approver_not_allowed"

        /// The HTTP status every response with this code carries.
        var status: HTTPResponseStatus {
            switch self {
            case .invalidRequest, .invalidOrigin, .invalidReturnURL, .missingOrigin, .noProviders, .unknownProvider,
                .identityNotConfigured, .hostNotAllowed, .sessionExpired, .oauthDenied, .oauthProviderError:
                .badRequest
            case .callerAgentMismatch, .agentUserTokenRefused: .badRequest
            case .unauthorized, .invalidToken, .invalidUserToken, .agentInactive, .agentRevoked: .unauthorized
            case .agentNotDelegated, .agentKeyNotAllowed, .meRequiresAgentKey, .agentScopeDenied, .grantExpired: .forbidden
            case .notFound, .grantNotFound, .agentNotFound, .callerAgentUnresolved, .keyNotFound: .notFound
            case .ambiguousGrant, .credentialRevoked, .tokenRefreshInProgress, .agentNameExists, .lastActiveKey, .keyAlreadyRevoked,
                .agentKeyLimitReached, .agentConcurrentUpdate:
                .conflict
            case .grantRevoked: .gone
            case .bodyTooLarge: .payloadTooLarge
            case .upstreamUnreachable: .badGateway
            case .refreshFailed: .serviceUnavailable
            case .upstreamTimeout: .gatewayTimeout
            case .internalError: .internalServerError
            case .outsideTimeWindow, .ipNotAllowed, .requestNotAllowed, .policyError, .approverNotAllowed: .forbidden
            case .rateLimitExceeded: .tooManyRequests
            case .hitlGrantRequiresProxy: .badRequest
            case .policyNotFound, .approvalNotFound: .notFound
            case .invalidGrantPolicy, .invalidRequestedGrant: .unprocessableEntity
            case .approvalPending, .approvalDenied, .approvalExpired, .approvalExecutionFailed, .approvalDecided: .conflict
            }
        }
    }

    let code: Code
    let message: String
    let status: HTTPResponseStatus
    var details: [String: String]?
    /// Seconds for a `Retry-After` header (a rate limit's refusal).
    var retryAfter: Int?

    init(_ code: Code, _ message: String, details: [String: String]? = nil) {
        self.code = code
        self.message = message
        self.status = code.status
        self.details = details
    }

    /// Vapor's own 4xx refusals (405, 413, 415…) keep the status Vapor chose.
    fileprivate init(vapor abort: any AbortError) {
        self.code = .invalidRequest
        self.message = abort.reason
        self.status = abort.status
    }

    var description: String { "\(code.rawValue): \(message)" }

    /// The wire shape, as pages and result reads carry it.
    var payload: APIErrorBody.Payload { .init(code: code.rawValue, message: message, details: details) }

    static func unauthorized(_ message: String = "A valid app key is required: send `Authorization: Bearer <app key>`.") -> APIError {
        APIError(.unauthorized, message)
    }

    static func invalidRequest(_ message: String) -> APIError {
        APIError(.invalidRequest, message)
    }
}

/// The body every error response carries.
struct APIErrorBody: Content {
    struct Payload: Codable, Sendable, Equatable {
        let code: String
        let message: String
        let details: [String: String]?
        /// The response's `X-Request-ID`, on error responses (pages and result reads omit it).
        var requestID: String? = nil

        enum CodingKeys: String, CodingKey {
            case code, message, details
            case requestID = "request_id"
        }
    }
    let error: Payload
}

/// Turns thrown errors into `{"error": {...}}` JSON. Unknown errors become a generic
/// `internal_error` so no internal detail (SQL, token, path) leaks to the caller.
/// (Future-based: see `RequestIDMiddleware`.)
struct APIErrorMiddleware: Middleware {
    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        next.respond(to: request).flatMapErrorThrowing { error in try Self.response(for: error, request: request) }
    }

    /// The error response for any thrown error; a route that must add headers to its
    /// errors (the result endpoint's CORS) renders through this too.
    static func response(for error: any Error, request: Request) throws -> Response {
        var apiError = apiError(for: error, request: request)
        var allowed: [String] = []
        if error is RouteNotFound {
            allowed = RouteMethods.allowed(at: request.url.path, in: request.application.routes)
            if !allowed.isEmpty {
                apiError = APIError(vapor: Abort(.methodNotAllowed, reason: "\(request.method.rawValue) is not served here; use \(allowed.joined(separator: ", "))."))
            }
        }
        let response = Response(status: apiError.status)
        if let seconds = apiError.retryAfter { response.headers.replaceOrAdd(name: .retryAfter, value: String(seconds)) }
        if !allowed.isEmpty { response.headers.replaceOrAdd(name: .allow, value: allowed.joined(separator: ", ")) }
        response.headers.cacheControl = .init(noStore: true)
        response.headers.replaceOrAdd(name: "Alter-Source", value: "vault")
        try response.content.encode(
            APIErrorBody(error: .init(code: apiError.code.rawValue, message: apiError.message, details: apiError.details, requestID: request.requestID)))
        return response
    }

    static func apiError(for error: any Error, request: Request) -> APIError {
        switch error {
        case let apiError as APIError:
            return apiError
        case let decoding as DecodingError:
            return .invalidRequest("The request body is not valid: \(Self.describe(decoding))")
        case let abort as any AbortError where abort.status == .notFound:
            return APIError(.notFound, "No such endpoint.")
        case let abort as any AbortError where abort.status.code < 500:
            return APIError(vapor: abort)
        default:
            // Log the type only: error descriptions from drivers can carry bound values.
            request.logger.error("unhandled error", metadata: ["type": "\(type(of: error))"])
            return APIError(.internalError, "Something went wrong on the server.")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "`\(path(context.codingPath))` has the wrong type."
        case .keyNotFound(let key, let context):
            return "`\(path(context.codingPath + [key]))` is required."
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON." : "`\(path(context.codingPath))` is malformed."
        @unknown default:
            return "malformed JSON."
        }
    }
}
