import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOFoundationCompat
import SQLKit
import Vapor

/// Deciding a held call and, on approval, running it once: the decision is one conditional
/// UPDATE from `pending` (`ClaimOnce`) by an approver (the holder of the one-time link's token,
/// or a signed-in portal operator), so of any number of approvals racing, on any number of
/// instances, one wins; only the winner sends the
/// call, as the caller who asked (the credential resolved again: a grant revoked meanwhile
/// fails it), and stores the provider's answer sealed for `GET /sdk/approvals/{id}/result`.
enum ApprovalExecution {
    enum Decision: String {
        case approve, deny
    }

    /// Who decides: the holder of the approver link (its token must still be the current one),
    /// or a portal operator (signed in, CSRF-checked by `PortalGuard`).
    enum Approver {
        case link(token: String)
        case portalOperator(email: String)

        var audited: String {
            switch self {
            case .link: "approver_link"
            case .portalOperator(let email): "operator:" + String(email.prefix(200))
            }
        }

        var kind: PolicyCondition.Approvers {
            switch self {
            case .link: .link
            case .portalOperator: .operators
            }
        }
    }

    /// Refuses (403 `approver_not_allowed`) an approver the held call's rule does not name
    /// (`requires_approval.approvers`). A rule deleted since the call was held no longer
    /// restricts who decides; one that no longer reads refuses everyone (fail closed).
    static func checkAllowed(_ kind: PolicyCondition.Approvers, for approval: Approval, on db: any Database) async throws {
        guard let rule = try await PolicyRule.find(approval.ruleID, on: db) else { return }
        let allowed: Set<PolicyCondition.Approvers>
        switch try? PolicyCondition(kind: rule.kind, settings: rule.settings) {
        case .requiresApproval(_, let approvers)?: allowed = approvers
        default: allowed = []
        }
        guard allowed.contains(kind) else {
            let who = kind == .link ? "an approver link" : "a portal operator"
            throw APIError(.approverNotAllowed, "This call's rule does not let \(who) decide it (requires_approval.approvers).",
                           details: ["rule_id": approval.ruleID.lowercasedString])
        }
    }

    /// The SDK's `ApprovalResult`: the proxy answer with its `approval_id`.
    typealias Result = SDKProxyController.Result

    /// - Returns: the approval after the decision (and the run, when approved).
    /// - Throws: `approval_decided` when this token no longer decides anything (already
    ///   decided, expired, or a wrong token).
    static func decide(_ approval: Approval, by approver: Approver, decision: Decision, reason: String?, request: Request) async throws -> Approval {
        let id = try approval.requireID()
        try await checkAllowed(approver.kind, for: approval, on: request.db)
        let now = request.application.clock.now()
        let next: Approval.Status = decision == .approve ? .executing : .denied
        let deadline = now.addingTimeInterval(request.application.alterConfiguration.approvalExecutionLimit)
        let won = try await ClaimOnce.claim(Approval.schema, id: id, on: request.db) {
            var update = $0.set("status", to: next.rawValue).set("decided_at", to: now).set("approver_token_hash", to: SQLLiteral.null)
                .set("decision_reason", to: reason.map { String($0.prefix(500)) })
                .where("status", .equal, Approval.Status.pending.rawValue)
                .where("expires_at", .greaterThan, now)
            if decision == .approve { update = update.set("execution_deadline", to: deadline) }
            if case .link(let token) = approver { update = update.where("approver_token_hash", .equal, SecretToken.hash(token)) }
            return update
        }
        guard won, let claimed = try await Approval.find(id, on: request.db) else {
            throw APIError(.approvalDecided, "This approval link no longer decides anything: the call was already decided, has expired, or the link was replaced.")
        }
        guard decision == .approve else {
            await Approvals.audit(claimed, .approvalDenied, status: 403, request: request, context: ["decided_by": approver.audited])
            return claimed
        }
        await Approvals.audit(claimed, .approvalApproved, status: 200, request: request, context: ["decided_by": approver.audited])
        do {
            let result = try await run(claimed, request: request)
            let sealed = try request.application.sealer.seal(
                String(decoding: try JSONEncoder().encode(result), as: UTF8.self), row: id.uuidString, field: Approval.resultField)
            _ = try await ClaimOnce.claim(Approval.schema, id: id, on: request.db) {
                $0.set("status", to: Approval.Status.executed.rawValue).set("executed_at", to: request.application.clock.now())
                    .set("sealed_result", to: sealed).where("status", .equal, Approval.Status.executing.rawValue)
            }
            await Approvals.audit(claimed, .approvalExecuted, status: result.statusCode, request: request)
        } catch {
            let message = (error as? APIError).map { "\($0.code.rawValue): \($0.message)" } ?? "The call could not be made."
            _ = try await ClaimOnce.claim(Approval.schema, id: id, on: request.db) {
                $0.set("status", to: Approval.Status.failed.rawValue).set("executed_at", to: request.application.clock.now())
                    .set("execution_error", to: message).where("status", .equal, Approval.Status.executing.rawValue)
            }
            await Approvals.audit(claimed, .approvalFailed, status: Int((error as? APIError)?.status.code ?? 500), request: request)
        }
        return try await Approval.find(id, on: request.db) ?? claimed
    }

    /// Sends the stored call as the caller who asked it.
    private static func run(_ approval: Approval, request: Request) async throws -> Result {
        guard let app = try await ClientApp.find(approval.$app.id, on: request.db) else { throw APIError(.grantNotFound, "The app is gone.") }
        let agent = try await approval.agentID.flatMapAsync { try await Agent.find($0, on: request.db) }
        if approval.agentID != nil, agent == nil || agent?.status == .revoked { throw APIError(.agentRevoked, "The agent that asked is gone.") }
        let kind: Caller.Kind = switch approval.callerKind {
        case "agent_key": .agentKey
        case "app_as_agent": .appActingAsAgent
        default: .app
        }
        let caller = Caller(app: app, keyID: approval.keyID, kind: kind, agent: agent)
        request.setCaller(caller)
        let opened = try request.application.sealer.open(approval.sealedCall, row: try approval.requireID().uuidString, field: Approval.callField)
        let call = try JSONDecoder().decode(Approvals.StoredCall.self, from: Data(opened.utf8))
        let credential = try await CredentialResolver(request: request, caller: caller).resolve(.init(grantID: approval.credentialID.lowercasedString))
        // The rules that are about the call now (PolicyCheck.Moment): a grant that expired, or a
        // window that closed, while the call waited fails it instead of running it.
        try await PolicyCheck.enforce(try credential.use(method: approval.method, url: approval.url, surface: .proxy, request: request), request: request, moment: .approvedExecution)
        let body = try call.bodyB64.map { encoded -> ByteBuffer in
            guard let data = Data(base64Encoded: encoded) else { throw APIError(.internalError, "The stored body does not read.") }
            return ByteBuffer(data: data)
        }
        let sent = try await ProviderCall(method: approval.method, url: approval.url, headers: call.headers, body: body, reference: .init(), reason: approval.reason)
            .send(approved: credential, request: request)
        return try await Result.read(sent, approvalID: try approval.requireID().lowercasedString)
    }

    /// The stored result of an executed approval.
    static func result(of approval: Approval, request: Request) throws -> Result {
        guard let sealed = approval.sealedResult else { throw APIError(.approvalPending, "The approval has no result yet.") }
        let opened = try request.application.sealer.open(sealed, row: try approval.requireID().uuidString, field: Approval.resultField)
        return try JSONDecoder().decode(Result.self, from: Data(opened.utf8))
    }
}

extension Optional {
    /// `flatMap` with an async transform (the approval's agent, if any).
    func flatMapAsync<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        switch self {
        case .some(let value): try await transform(value)
        case .none: nil
        }
    }
}
