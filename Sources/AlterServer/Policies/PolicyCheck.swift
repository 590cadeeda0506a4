import Fluent
import FluentKit
import Foundation
import Vapor

/// What a call is about to use, described before anything is decrypted: enough for every
/// rule kind. Built by the surfaces in `Proxy/` (`VaultCredential.use`).
struct CredentialUse: Sendable {
    enum Surface: Sendable {
        /// The token (or secret) is handed to the app: `/sdk/token`, `/v1/grants/{id}/token`.
        case token
        /// The vault makes the call: `/sdk/proxy`, `/v1/request`.
        case proxy
    }

    var appID: UUID
    var grantID: UUID
    /// The provider id, or the managed secret's slug.
    var provider: String
    var agentID: UUID?
    var grantCreatedAt: Date?
    var method: String?
    var url: String?
    var surface: Surface
}

/// A call that a `requires_approval` rule holds for a person's decision (proxy surfaces only;
/// they turn it into a pending approval, `Approvals.request`).
struct ApprovalRequired: Error {
    let ruleID: UUID
    let expiresIn: Int
    /// The grant the held call uses.
    let grantID: UUID
}

/// The policy check: every rule of the app that covers a use, evaluated before any
/// credential is decrypted or sent. Rules only restrict: the use passes when none objects.
/// A rule that does not read, or an error while evaluating, denies (`policy_error`). Each
/// refusal is audited as `policy_denied` with the rule and its code.
enum PolicyCheck {
    static func enforce(_ use: CredentialUse, request: Request) async throws {
        let rules = try await request.application.policyIndex.rules(of: use.appID, on: request.db)
        if rules.isEmpty { return }
        let covering = rules.filter { covers($0, use) }
        if covering.isEmpty { return }
        var approval: ApprovalRequired?
        var counted: [(PolicyIndex.Loaded, Int, RateSubjectKey)] = []
        for rule in covering {
            let condition: PolicyCondition
            switch rule.condition {
            case .success(let parsed): condition = parsed
            case .failure(let problem):
                throw await deny(APIError(.policyError, "Policy rule \(rule.id.uuidString.lowercased()) cannot be evaluated (\(problem.description)); the call is refused."), rule, use, request)
            }
            switch condition {
            case .timeWindow(let window):
                if !window.contains(request.application.clock.now()) {
                    throw await deny(APIError(.outsideTimeWindow, "Calls with this grant are allowed only inside the rule's time window."), rule, use, request)
                }
            case .ipAllowlist(let ranges):
                guard let address = CallerAddress.of(request), ranges.contains(where: { $0.contains(address) }) else {
                    throw await deny(APIError(.ipNotAllowed, "Calls with this grant are not allowed from this address."), rule, use, request)
                }
            case .grantLifetime(let seconds):
                guard let created = use.grantCreatedAt, request.application.clock.now().timeIntervalSince(created) < TimeInterval(seconds) else {
                    throw await deny(APIError(.grantExpired, "The grant's lifetime (\(seconds) s) is over; connect again."), rule, use, request)
                }
            case .allowedRequests(let methods, let endpoints):
                let method = use.method?.uppercased()
                let methodAllowed = methods.map { allowed in method.map(allowed.contains) ?? false } ?? true
                let endpointAllowed = endpoints.map { patterns in use.url.map { url in patterns.contains { $0.matches(url) } } ?? false } ?? true
                guard methodAllowed, endpointAllowed else {
                    throw await deny(APIError(.requestNotAllowed, "This grant may not be used for \(method ?? "an unnamed method") on this endpoint."), rule, use, request)
                }
            case .rateLimit(let limit, let per):
                counted.append((rule, limit, per == .grant ? .grant(use.grantID) : .agent(use.agentID)))
            case .requiresApproval(let expiresIn):
                if approval == nil { approval = ApprovalRequired(ruleID: rule.id, expiresIn: expiresIn, grantID: use.grantID) }
            }
        }
        // Counted last, so a call another rule refuses does not use up the allowance.
        if !counted.isEmpty {
            let result: (counts: [UUID: Int], retryAfter: Int)
            do {
                result = try await RateCounter.count(counted.map { ($0.0.id, $0.2.key) }, at: request.application.clock.now(), on: request.db)
            } catch {
                throw await deny(APIError(.policyError, "Policy rule \(counted[0].0.id.uuidString.lowercased())'s rate count is unavailable; the call is refused."), counted[0].0, use, request)
            }
            for (rule, limit, subject) in counted where (result.counts[rule.id] ?? Int.max) > limit {
                var refusal = APIError(
                    .rateLimitExceeded, "More than \(limit) calls a minute for this \(subject.name); retry in \(result.retryAfter) s.",
                    details: ["scope": subject.name, "limit": String(limit), "window_seconds": String(RateCounter.window), "retry_after": String(result.retryAfter)])
                refusal.retryAfter = result.retryAfter
                throw await deny(refusal, rule, use, request)
            }
        }
        if let approval {
            guard use.surface == .proxy else {
                throw await deny(APIError(.hitlGrantRequiresProxy, "Calls with this grant need a person's approval: make them with proxy_request()."), covering.first { $0.id == approval.ruleID }!, use, request)
            }
            throw approval
        }
    }

    enum RateSubjectKey {
        case grant(UUID)
        case agent(UUID?)

        var key: String {
            switch self {
            case .grant(let id): "grant:" + id.uuidString.lowercased()
            // The app's own calls (no agent) share one allowance.
            case .agent(let id): "agent:" + (id?.uuidString.lowercased() ?? "app")
            }
        }

        var name: String {
            switch self {
            case .grant: "grant"
            case .agent: "agent"
            }
        }
    }

    /// Whether a rule is attached to what this use touches.
    static func covers(_ rule: PolicyIndex.Loaded, _ use: CredentialUse) -> Bool {
        switch rule.scope {
        case .app: true
        case .provider: rule.target == use.provider
        case .agent: use.agentID.map { rule.target == $0.uuidString.lowercased() } ?? false
        case .grant: rule.target == use.grantID.uuidString.lowercased()
        }
    }

    /// Audits the refusal with the rule that fired and returns the error to throw.
    private static func deny(_ error: APIError, _ rule: PolicyIndex.Loaded, _ use: CredentialUse, _ request: Request) async -> APIError {
        var error = error
        var details = error.details ?? [:]
        details["rule_id"] = rule.id.uuidString.lowercased()
        details["rule_kind"] = rule.kind
        details["grant_id"] = use.grantID.uuidString.lowercased()
        error.details = details
        let event = AuditEvent(
            appID: use.appID, grantID: use.grantID, action: .policyDenied, caller: request.alterCaller, agent: request.auditAgent,
            method: use.method.map { String($0.uppercased().prefix(16)) }, host: use.url.flatMap { URLComponents(string: $0)?.host },
            status: Int(error.status.code), at: request.application.clock.now())
        event.context = ["rule_id": rule.id.uuidString.lowercased(), "rule_kind": rule.kind, "code": error.code.rawValue]
        request.application.auditLog.record(event)
        return error
    }
}
