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
    /// Where the grant's lifetime counts from: when it was last connected (`Grant.lifetimeStart`).
    var lifetimeStart: Date?
    /// The `GrantTerms` JSON its Connect session set (`grant_policy`, `requested_grant`).
    var grantTerms: String?
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
    /// When the check runs. An approved call is checked again as it is executed, by the rules
    /// that are about the call and the grant at that moment: time window, grant lifetime (the
    /// session's and rules'), allowed requests, and a rule that does not read. Not the IP
    /// allow-list (the request executing it is the approver's, not the caller's: the caller's
    /// address was checked when the call was held), not rate limits (the held call was counted
    /// then; counting again would charge it twice), not approval (this is the approval).
    enum Moment {
        case call
        case approvedExecution
    }

    static func enforce(_ use: CredentialUse, request: Request, moment: Moment = .call) async throws {
        let rules = try await request.application.policyIndex.rules(of: use.appID, on: request.database)
        if rules.isEmpty && use.grantTerms == nil { return }
        let covering = terms(of: use) + rules.filter { covers($0, use) }
        if covering.isEmpty { return }
        var approval: ApprovalRequired?
        var counted: [(UUID, PolicyIndex.Loaded, Int, RateSubjectKey)] = []
        for rule in covering {
            let condition: PolicyCondition
            switch rule.condition {
            case .success(let parsed): condition = parsed
            case .failure(let problem):
                throw await deny(APIError(.policyError, "\(rule.name) cannot be evaluated (\(problem.description)); the call is refused."), rule, use, request)
            }
            switch condition {
            case .timeWindow(let window):
                if !window.contains(request.application.clock.now()) {
                    throw await deny(APIError(.outsideTimeWindow, "Calls with this grant are allowed only inside the rule's time window."), rule, use, request)
                }
            case .ipAllowlist(let ranges):
                if moment == .approvedExecution { continue }
                guard let address = CallerAddress.of(request), ranges.contains(where: { $0.contains(address) }) else {
                    throw await deny(APIError(.ipNotAllowed, "Calls with this grant are not allowed from this address."), rule, use, request)
                }
            case .grantLifetime(let seconds):
                guard let start = use.lifetimeStart, request.application.clock.now().timeIntervalSince(start) < TimeInterval(seconds) else {
                    throw await deny(APIError(.grantExpired, "The grant's lifetime (\(seconds) s) is over; connect again."), rule, use, request)
                }
            case .allowedRequests(let allowed):
                guard allowed.permits(method: use.method, url: use.url) else {
                    throw await deny(APIError(.requestNotAllowed, "This grant may not be used for \(use.method?.uppercased() ?? "an unnamed method") on this endpoint."), rule, use, request)
                }
            case .rateLimit(let limit, let per):
                if moment == .approvedExecution { continue }
                guard let id = rule.id else { throw await deny(Self.notStored(rule), rule, use, request) }
                counted.append((id, rule, limit, per == .grant ? .grant(use.grantID) : .agent(use.agentID)))
            case .requiresApproval(let expiresIn, _):
                if moment == .approvedExecution { continue }
                guard let id = rule.id else { throw await deny(Self.notStored(rule), rule, use, request) }
                if approval == nil { approval = ApprovalRequired(ruleID: id, expiresIn: expiresIn, grantID: use.grantID) }
            }
        }
        // Counted last, so a call another rule refuses does not use up the allowance.
        if !counted.isEmpty {
            let result: (counts: [UUID: Int], retryAfter: Int)
            do {
                result = try await RateCounter.count(counted.map { ($0.0, $0.3.key) }, at: request.application.clock.now(), on: request.database)
            } catch {
                throw await deny(APIError(.policyError, "\(counted[0].1.name)'s rate count is unavailable; the call is refused."), counted[0].1, use, request)
            }
            for (id, rule, limit, subject) in counted where (result.counts[id] ?? Int.max) > limit {
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
            case .grant(let id): "grant:" + id.lowercasedString
            // The app's own calls (no agent) share one allowance.
            case .agent(let id): "agent:" + (id?.lowercasedString ?? "app")
            }
        }

        var name: String {
            switch self {
            case .grant: "grant"
            case .agent: "agent"
            }
        }
    }

    /// The grant's own terms (its Connect session's `grant_policy` lifetime and
    /// `requested_grant.restrictions`) as rules of the kinds they are, so the one evaluation
    /// above enforces them. Terms that do not read deny (`policy_error`), as a broken rule does.
    static func terms(of use: CredentialUse) -> [PolicyIndex.Loaded] {
        guard let raw = use.grantTerms else { return [] }
        func loaded(_ kind: String, _ condition: Result<PolicyCondition, PolicyCondition.Invalid>) -> PolicyIndex.Loaded {
            .init(id: nil, scope: .grant, target: use.grantID.lowercasedString, kind: kind, condition: condition)
        }
        guard let terms = try? GrantTerms.read(raw) else {
            return [loaded("grant_terms", .failure(.init("the grant's stored terms are not GrantTerms JSON")))]
        }
        var rules: [PolicyIndex.Loaded] = []
        if let seconds = terms.lifetime?.seconds {
            rules.append(loaded("grant_lifetime", (1...GrantTerms.longestTTL).contains(seconds) ? .success(.grantLifetime(maxSeconds: seconds)) : .failure(.init("the lifetime is out of range"))))
        }
        if let restrictions = terms.restrictions {
            rules.append(loaded("allowed_requests", Result { () throws(AllowedRequests.Invalid) in try restrictions.allowed() }
                .map(PolicyCondition.allowedRequests)
                .mapError { .init($0.message(in: "restrictions", methods: "allowed_methods", endpoints: "allowed_endpoints")) }))
        }
        return rules
    }

    private static func notStored(_ rule: PolicyIndex.Loaded) -> APIError {
        APIError(.policyError, "\(rule.name) is not a stored rule and cannot count calls or hold them; the call is refused.")
    }

    /// Whether a rule is attached to what this use touches.
    static func covers(_ rule: PolicyIndex.Loaded, _ use: CredentialUse) -> Bool {
        switch rule.scope {
        case .app: true
        case .provider: rule.target == use.provider
        case .agent: use.agentID.map { rule.target == $0.lowercasedString } ?? false
        case .grant: rule.target == use.grantID.lowercasedString
        }
    }

    /// Audits the refusal with the rule that fired and returns the error to throw.
    private static func deny(_ error: APIError, _ rule: PolicyIndex.Loaded, _ use: CredentialUse, _ request: Request) async -> APIError {
        var error = error
        var details = error.details ?? [:]
        // A grant's own terms have no rule id: the refusal says where the restriction came from.
        if let id = rule.id { details["rule_id"] = id.lowercasedString } else { details["rule_source"] = "grant_terms" }
        details["rule_kind"] = rule.kind
        details["grant_id"] = use.grantID.lowercasedString
        error.details = details
        var event = AuditEntry(
            appID: use.appID, grantID: use.grantID, action: .policyDenied, caller: request.alterCaller, agent: request.auditAgent,
            method: use.method.map { String($0.uppercased().prefix(16)) }, host: use.url.flatMap { URLComponents(string: $0)?.host },
            status: Int(error.status.code), at: request.application.clock.now())
        var context = ["rule_kind": rule.kind, "code": error.code.rawValue]
        if let id = details["rule_id"] { context["rule_id"] = id } else { context["rule_source"] = details["rule_source"] }
        event.context = context
        request.application.auditLog.record(event)
        return error
    }
}
