import Foundation

/// An error the vault reported: a stable ``code``, a message safe to show, optional
/// ``details`` and the HTTP status.
///
/// Switch on ``code``; codes are static members, so new ones can be added without breaking
/// your `switch` (keep a `default:`).
///
/// ```swift
/// do {
///     let response = try await vault.request(.GET, url, grantID: grantID)
/// } catch let error as AlterVaultError where error.code == .grantNotFound {
///     // forget the grant id
/// } catch let error as AlterVaultError where error.isRetryable {
///     // try again later
/// }
/// ```
///
/// A revoked credential is ``CredentialRevokedError`` and a failure to reach the vault is
/// ``AlterVaultNetworkError``, not this type. The description never contains a key, token or
/// body.
public struct AlterVaultError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable error code; `rawValue` is the wire code, e.g. `grant_not_found`.
    public struct Code: RawRepresentable, Sendable, Hashable, Decodable, CustomStringConvertible {
        /// The wire code.
        public let rawValue: String

        /// Wraps a wire code, known to this SDK or not.
        ///
        /// - Parameters:
        ///   - rawValue: The code as the vault sent it.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The wire code.
        public var description: String { rawValue }

        // Any endpoint

        /// The app key is missing, malformed, unknown or revoked (401).
        public static let unauthorized = Code(rawValue: "unauthorized")
        /// The request body or a parameter is malformed (400).
        public static let invalidRequest = Code(rawValue: "invalid_request")
        /// No such endpoint on this vault (404), e.g. a vault older than this SDK.
        public static let notFound = Code(rawValue: "not_found")
        /// The vault failed unexpectedly (500).
        public static let internalError = Code(rawValue: "internal_error")

        // Connect sessions

        /// `allowed_origin` is not an exact, canonical origin (400).
        public static let invalidOrigin = Code(rawValue: "invalid_origin")
        /// `return_url` is not an absolute URL on the session's origin (400).
        public static let invalidReturnURL = Code(rawValue: "invalid_return_url")
        /// No `allowed_origin` and the app has no `website_url` (400).
        public static let missingOrigin = Code(rawValue: "missing_origin")
        /// None of the requested providers is configured for the app (400).
        public static let noProviders = Code(rawValue: "no_providers")
        /// A provider id is not in the vault's catalog (400).
        public static let unknownProvider = Code(rawValue: "unknown_provider")
        /// `user_token` failed verification (401).
        public static let invalidUserToken = Code(rawValue: "invalid_user_token")
        /// `user_token` was sent but the app has no identity settings (400).
        public static let identityNotConfigured = Code(rawValue: "identity_not_configured")
        /// A session token is malformed or unknown (401).
        public static let invalidToken = Code(rawValue: "invalid_token")
        /// A session token expired or was already used (400); also a session result's error.
        public static let sessionExpired = Code(rawValue: "session_expired")
        /// The user denied access at the provider: a session result's error.
        public static let oauthDenied = Code(rawValue: "oauth_denied")
        /// The provider reported an error during sign-in; its code is in `details["error"]`:
        /// a session result's error.
        public static let oauthProviderError = Code(rawValue: "oauth_provider_error")

        // Proxy and grants

        /// No such grant for this app (404).
        public static let grantNotFound = Code(rawValue: "grant_not_found")
        /// The grant was revoked; connect the account again (410).
        public static let grantRevoked = Code(rawValue: "grant_revoked")
        /// The grant's policy expiry (`expires_at`) has passed (403).
        public static let grantExpired = Code(rawValue: "grant_expired")
        /// Another request is refreshing this grant's token; retry shortly (409).
        public static let tokenRefreshInProgress = Code(rawValue: "token_refresh_in_progress")
        /// `user_token` + `provider` match several accounts; `details["accounts"]` lists them (409).
        public static let ambiguousGrant = Code(rawValue: "ambiguous_grant")
        /// The grant is not delegated to the `agent` given (403).
        public static let agentNotDelegated = Code(rawValue: "agent_not_delegated")
        /// The URL is not on the provider's API allow-list; nothing was sent upstream (400).
        public static let hostNotAllowed = Code(rawValue: "host_not_allowed")
        /// The provider rejected the refresh token (409). Thrown as ``CredentialRevokedError``.
        public static let credentialRevoked = Code(rawValue: "credential_revoked")
        /// The provider failed while the vault refreshed the token; retryable (503).
        public static let refreshFailed = Code(rawValue: "refresh_failed")
        /// The provider API could not be reached; retryable (502).
        public static let upstreamUnreachable = Code(rawValue: "upstream_unreachable")
        /// The provider API did not answer in time; retryable (504).
        public static let upstreamTimeout = Code(rawValue: "upstream_timeout")
        /// The request or the provider's answer is over the vault's 10 MiB limit (413).
        public static let bodyTooLarge = Code(rawValue: "body_too_large")

        // Agents

        /// No agent of this app has that id or name (404).
        public static let agentNotFound = Code(rawValue: "agent_not_found")
        /// Another agent of this app already has that name (409).
        public static let agentNameExists = Code(rawValue: "agent_name_exists")
        /// The calling agent is paused (`inactive`); resume it to call again (401).
        public static let agentInactive = Code(rawValue: "agent_inactive")
        /// The calling agent was revoked (deleted); it can never call again (401).
        public static let agentRevoked = Code(rawValue: "agent_revoked")
        /// The caller header names an agent id this app does not have, or one that is not active (404).
        public static let callerAgentUnresolved = Code(rawValue: "caller_agent_unresolved")
        /// An agent key sent a caller header naming another agent (400).
        public static let callerAgentMismatch = Code(rawValue: "caller_agent_mismatch")
        /// An agent key called an endpoint only the app's own key may call (403).
        public static let agentKeyNotAllowed = Code(rawValue: "agent_key_not_allowed")
        /// An agent key sent a `user_token`: an agent acts only on the grants delegated to it (400).
        public static let agentUserTokenRefused = Code(rawValue: "agent_user_token_refused")
        /// `agents/me` and `delegations/me` need an agent key (403).
        public static let meRequiresAgentKey = Code(rawValue: "me_requires_agent_key")
        /// No such key for this agent (404).
        public static let keyNotFound = Code(rawValue: "key_not_found")
        /// Revoking the agent's last active key needs `force` (409).
        public static let lastActiveKey = Code(rawValue: "last_active_key")
        /// The key is revoked; it cannot be deprecated or undeprecated (409).
        public static let keyAlreadyRevoked = Code(rawValue: "key_already_revoked")
        /// The agent already holds the most unrevoked keys allowed (409).
        public static let agentKeyLimitReached = Code(rawValue: "agent_key_limit_reached")
        /// The agent's per-provider allow-list does not name the grant's provider (403).
        public static let agentScopeDenied = Code(rawValue: "agent_scope_denied")
        /// `expected_version` is stale: the agent changed since it was read (409).
        public static let agentConcurrentUpdate = Code(rawValue: "agent_concurrent_update")

        // Policies and approvals (docs/policies.md); `details["rule_id"]` names the rule.

        /// A `time_window` rule: calls only inside its weekdays and hours (403).
        public static let outsideTimeWindow = Code(rawValue: "outside_time_window")
        /// An `ip_allowlist` rule: the caller's address is not on it (403).
        public static let ipNotAllowed = Code(rawValue: "ip_not_allowed")
        /// An `allowed_requests` rule: this method or endpoint is not allowed (403).
        public static let requestNotAllowed = Code(rawValue: "request_not_allowed")
        /// A rule could not be evaluated, so the call was refused: fail closed (403).
        public static let policyError = Code(rawValue: "policy_error")
        /// A `rate_limit` rule's calls a minute are used up; retry after `Retry-After` (429).
        public static let rateLimitExceeded = Code(rawValue: "rate_limit_exceeded")
        /// The grant's calls need approval: the token is not handed out; use `/v1/request` (400).
        public static let hitlGrantRequiresProxy = Code(rawValue: "hitl_grant_requires_proxy")
        /// No such policy rule in this app (404).
        public static let policyNotFound = Code(rawValue: "policy_not_found")
        /// A Connect session's `grant_policy` does not read: unknown field, or a TTL out of range (422).
        public static let invalidGrantPolicy = Code(rawValue: "invalid_grant_policy")
        /// A Connect session's `requested_grant` does not read: label, methods or endpoint patterns (422).
        public static let invalidRequestedGrant = Code(rawValue: "invalid_requested_grant")
        /// No such approval in this app (404).
        public static let approvalNotFound = Code(rawValue: "approval_not_found")
        /// The approval has no result yet (409).
        public static let approvalPending = Code(rawValue: "approval_pending")
        /// The approver denied the call (409).
        public static let approvalDenied = Code(rawValue: "approval_denied")
        /// No one decided before the approval expired (409).
        public static let approvalExpired = Code(rawValue: "approval_expired")
        /// The approved call could not be made (409).
        public static let approvalExecutionFailed = Code(rawValue: "approval_execution_failed")
        /// The approval was already decided, expired, or the link was replaced (409).
        public static let approvalDecided = Code(rawValue: "approval_decided")
        /// The held call's rule does not let this kind of approver decide it (403).
        public static let approverNotAllowed = Code(rawValue: "approver_not_allowed")

        // This SDK

        /// The vault's answer could not be read (no error body, or a body of the wrong shape).
        public static let unexpectedResponse = Code(rawValue: "unexpected_response")

        /// Codes a later attempt may not see: the provider or the network was at fault, or a rate window ends.
        static let retryable: Set<Code> = [.refreshFailed, .upstreamUnreachable, .upstreamTimeout, .rateLimitExceeded]
    }

    /// The stable error code.
    public let code: Code
    /// A human-readable message, safe to show to a user.
    public let message: String
    /// Extra context, e.g. `details["accounts"]` for ``Code/ambiguousGrant``.
    public let details: [String: JSONValue]
    /// The HTTP status the vault answered with.
    public let status: Int

    /// Creates an error as the vault reports it.
    ///
    /// - Parameters:
    ///   - code: The wire code.
    ///   - message: The message.
    ///   - details: Extra context.
    ///   - status: The HTTP status.
    public init(code: Code, message: String, details: [String: JSONValue] = [:], status: Int) {
        self.code = code
        self.message = message
        self.details = details
        self.status = status
    }

    /// True when the same call may succeed later: the provider was down or slow, not your request.
    public var isRetryable: Bool {
        Code.retryable.contains(code) || [502, 503, 504].contains(status)
    }

    /// `code (HTTP status): message`; never details, keys, tokens or bodies.
    public var description: String { "\(code.rawValue) (HTTP \(status)): \(message)" }
}
