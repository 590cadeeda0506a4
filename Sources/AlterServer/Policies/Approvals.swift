import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOFoundationCompat
import SQLKit
import Vapor

/// Holding calls for approval and moving them through their states. Running an approved call
/// is above this floor (`ApprovalExecution` in `Approvals/`), because it needs the proxy.
enum Approvals {
    /// The SDK's `PendingApproval` (202 of `/sdk/proxy` and `/v1/request`).
    struct Pending: Content {
        struct Gate: Content {
            var approvalID: String
            var expiresAt: Date
            var expiresIn: Int
            var approvalURL: String

            enum CodingKeys: String, CodingKey {
                case approvalID = "approval_id"
                case expiresAt = "expires_at"
                case expiresIn = "expires_in"
                case approvalURL = "approval_url"
            }
        }
        var approvalID: String
        var approvalGroupID: String
        var status = "pending"
        var expiresAt: Date
        var expiresIn: Int
        var approvalURL: String
        var gates: [Gate]

        enum CodingKeys: String, CodingKey {
            case status, gates
            case approvalID = "approval_id"
            case approvalGroupID = "approval_group_id"
            case expiresAt = "expires_at"
            case expiresIn = "expires_in"
            case approvalURL = "approval_url"
        }
    }

    /// The call as stored (sealed) until it runs.
    struct StoredCall: Codable {
        var headers: [String: String]
        var bodyB64: String?

        enum CodingKeys: String, CodingKey {
            case headers
            case bodyB64 = "body_b64"
        }
    }

    static func url(of id: UUID, publicURL: String) -> String { "\(publicURL)/approvals/\(id.lowercasedString)" }

    /// Stores the held call and answers 202 `PendingApproval`; audited as `approval_requested`.
    static func hold(
        _ required: ApprovalRequired, credentialID: UUID, method: String, url: String, headers: [String: String], body: ByteBuffer?,
        reason: String?, request: Request
    ) async throws -> Response {
        let caller = try request.caller
        let now = request.application.clock.now()
        let approval = Approval()
        let id = UUID()
        approval.id = id
        approval.$app.id = try caller.app.requireID()
        approval.ruleID = required.ruleID
        approval.status = .pending
        approval.credentialID = credentialID
        approval.keyID = caller.keyID
        approval.callerKind = switch caller.kind {
        case .app: "app"
        case .agentKey: "agent_key"
        case .appActingAsAgent: "app_as_agent"
        }
        approval.agentID = caller.agentID
        approval.caller = request.alterCaller
        approval.method = method.uppercased()
        approval.url = url
        approval.reason = reason
        let call = StoredCall(headers: headers, bodyB64: body.map { Data(buffer: $0).base64EncodedString() })
        approval.sealedCall = try request.application.sealer.seal(
            String(decoding: try JSONEncoder().encode(call), as: UTF8.self), row: id.uuidString, field: Approval.callField)
        approval.createdAt = now
        approval.expiresAt = now.addingTimeInterval(TimeInterval(required.expiresIn))
        let link = Self.url(of: id, publicURL: request.application.alterConfiguration.publicURL)
        // The app hears of it (`approval.requested`) exactly when the approval is stored.
        try await request.db.transaction { db in
            try await approval.create(on: db)
            try await WebhookEvents.enqueue(.approvalRequested, appID: approval.$app.id, at: now, on: db) {
                RequestedEvent(approval: .init(approval, approvalURL: link, portalURL: request.application.alterConfiguration.publicURL + "/portal/apps/\(approval.$app.id.lowercasedString)/approvals"))
            }
        }
        await audit(approval, .approvalRequested, status: 202, request: request)
        let pending = Pending(
            approvalID: id.lowercasedString, approvalGroupID: id.lowercasedString, expiresAt: approval.expiresAt,
            expiresIn: required.expiresIn, approvalURL: link,
            gates: [.init(approvalID: id.lowercasedString, expiresAt: approval.expiresAt, expiresIn: required.expiresIn, approvalURL: link)])
        let response = Response(status: .accepted)
        try response.content.encode(pending, as: .json)
        response.headers.cacheControl = .init(noStore: true)
        return response
    }

    /// The approval of this app, with a pending one past its time moved to `expired` first.
    static func find(_ raw: String, appID: UUID?, request: Request) async throws -> Approval {
        guard let id = UUID(text: raw), let approval = try await Approval.find(id, on: request.db), appID == nil || approval.$app.id == appID else {
            throw APIError(.approvalNotFound, "No approval \(raw.prefix(40)).")
        }
        return try await expireIfDue(approval, request: request)
    }

    /// A pending approval past `expires_at` becomes `expired`; an executing one past its
    /// `execution_deadline` becomes `failed` with `approval_interrupted` (the instance running it
    /// crashed or hung). Each is one conditional UPDATE, so any instance may do it, once; the
    /// executor's own `executed` / `failed` update is conditional on `executing` too, so exactly
    /// one outcome is recorded and the call is never run again.
    static func expireIfDue(_ approval: Approval, request: Request) async throws -> Approval {
        let now = request.application.clock.now()
        if approval.status == .executing, let deadline = approval.executionDeadline, deadline <= now {
            return try await interrupt(approval, now: now, request: request)
        }
        guard approval.status == .pending, approval.expiresAt <= now else { return approval }
        let id = try approval.requireID()
        let won = try await ClaimOnce.claim(Approval.schema, id: id, on: request.db) {
            $0.set("status", to: Approval.Status.expired.rawValue).set("approver_token_hash", to: SQLLiteral.null)
                .where("status", .equal, Approval.Status.pending.rawValue)
        }
        let current = try await Approval.find(id, on: request.db) ?? approval
        if won { await audit(current, .approvalExpired, status: 410, request: request) }
        return current
    }

    private static func interrupt(_ approval: Approval, now: Date, request: Request) async throws -> Approval {
        let id = try approval.requireID()
        let message = "\(Approval.interruptedCode): the approved call did not finish by its execution deadline (the vault running it stopped); it may or may not have reached the provider, and it is not run again."
        let won = try await ClaimOnce.claim(Approval.schema, id: id, on: request.db) {
            $0.set("status", to: Approval.Status.failed.rawValue).set("executed_at", to: now).set("execution_error", to: message)
                .where("status", .equal, Approval.Status.executing.rawValue).where("execution_deadline", .lessThanOrEqual, now)
        }
        let current = try await Approval.find(id, on: request.db) ?? approval
        if won { await audit(current, .approvalFailed, status: 504, request: request, context: ["code": Approval.interruptedCode]) }
        return current
    }

    /// Pending approvals of an app (oldest first), with the ones past their time moved on first.
    static func pending(appID: UUID, request: Request, limit: Int = 200) async throws -> [Approval] {
        let rows = try await Approval.query(on: request.db).filter(\.$app.$id == appID).filter(\.$status ~~ [.pending, .executing])
            .sort(\.$createdAt).limit(limit).all()
        var current: [Approval] = []
        for row in rows { current.append(try await expireIfDue(row, request: request)) }
        return current.filter { $0.status == .pending }
    }

    /// A new one-time approver link (the previous one stops working); only while pending.
    static func approverLink(for approval: Approval, request: Request) async throws -> (url: String, expiresAt: Date) {
        let token = SecretToken.generate(prefix: "apv_")
        let id = try approval.requireID()
        let won = try await ClaimOnce.claim(Approval.schema, id: id, on: request.db) {
            $0.set("approver_token_hash", to: SecretToken.hash(token)).where("status", .equal, Approval.Status.pending.rawValue)
        }
        guard won else { throw APIError(.approvalDecided, "Approval \(id.lowercasedString) is \(approval.status.rawValue); it can no longer be decided.") }
        return (Self.url(of: id, publicURL: request.application.alterConfiguration.publicURL) + "?t=" + token, approval.expiresAt)
    }

    static func audit(_ approval: Approval, _ action: AuditEvent.Action, status: Int, request: Request, context extra: [String: String] = [:]) async {
        let host = URLComponents(string: approval.url)?.host
        var event = AuditEntry(
            appID: approval.$app.id, grantID: approval.credentialID, action: action, caller: approval.caller, agent: nil,
            method: approval.method, host: host, status: status, at: request.application.clock.now())
        event.reason = approval.reason
        event.context = ["approval_id": approval.id?.lowercasedString ?? "", "rule_id": approval.ruleID.lowercasedString].merging(extra) { $1 }
        request.application.auditLog.record(event)
    }
}
