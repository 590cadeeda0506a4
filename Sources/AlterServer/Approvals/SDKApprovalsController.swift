import Fluent
import FluentKit
import Foundation
import Vapor

/// The SDK's approval reads: `GET /sdk/approvals/{id}[?wait=N]` (`get_approval_status`,
/// held open up to N ≤ 25 s until the status moves: `await_approval`'s long poll) and
/// `GET /sdk/approvals/{id}/result` (the provider's answer once executed, or the SDK's
/// `approval_denied` / `approval_expired` / `approval_execution_failed`).
struct SDKApprovalsController: RouteCollection {
    static let maxWait = 25

    struct Status: Encodable {
        struct Gate: Encodable {
            var approvalID: String
            var status: String
            var expiresAt: Date
            var decidedAt: Date?

            enum CodingKeys: String, CodingKey {
                case status
                case approvalID = "approval_id"
                case expiresAt = "expires_at"
                case decidedAt = "decided_at"
            }
        }
        var approvalID: String
        var status: String
        var approvalGroupID: String
        var gates: [Gate]
        var expiresAt: Date
        var decidedAt: Date?
        var decisionReason: String?
        var executedAt: Date?
        var executionError: String?
        var hasResult: Bool

        enum CodingKeys: String, CodingKey {
            case status, gates
            case approvalID = "approval_id"
            case approvalGroupID = "approval_group_id"
            case expiresAt = "expires_at"
            case decidedAt = "decided_at"
            case decisionReason = "decision_reason"
            case executedAt = "executed_at"
            case executionError = "execution_error"
            case hasResult = "has_result"
        }

        init(_ approval: Approval) throws {
            let id = try approval.requireID().lowercasedString
            approvalID = id
            approvalGroupID = id
            status = approval.status.rawValue
            // A gate shows the approver's decision, not the execution's progress (the SDK's rule).
            let gate: String = switch approval.status {
            case .pending, .denied, .expired: approval.status.rawValue
            default: "approved"
            }
            gates = [Gate(approvalID: id, status: gate, expiresAt: approval.expiresAt, decidedAt: approval.decidedAt)]
            expiresAt = approval.expiresAt
            decidedAt = approval.decidedAt
            decisionReason = approval.decisionReason
            executedAt = approval.executedAt
            executionError = approval.executionError
            hasResult = approval.sealedResult != nil
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.sdkRoute(.GET, "approvals", ":approval", use: status)
        routes.sdkRoute(.GET, "approvals", ":approval", "result", use: result)
    }

    func status(request: Request) async throws -> Response {
        let wait = try request.query.get(Int?.self, at: "wait") ?? 0
        guard (0...Self.maxWait).contains(wait) else {
            throw SDKError(status: .unprocessableEntity, code: "invalid_request", message: "wait must be 0 to \(Self.maxWait) seconds.")
        }
        let raw = request.parameters.get("approval") ?? ""
        let appID = try request.caller.app.requireID()
        var approval = try await Approvals.find(raw, appID: appID, request: request)
        let deadline = ContinuousClock.now + .seconds(wait)
        let seen = approval.status
        // Long poll: read again every 250 ms until the status moves (another instance may move it).
        while approval.status == seen, !approval.status.isTerminal, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            approval = try await Approvals.find(raw, appID: appID, request: request)
        }
        return try .sdkJSON(Status(approval))
    }

    func result(request: Request) async throws -> Response {
        let approval = try await Approvals.find(request.parameters.get("approval") ?? "", appID: try request.caller.app.requireID(), request: request)
        switch approval.status {
        case .executed: return try .sdkJSON(try ApprovalExecution.result(of: approval, request: request))
        case .denied: throw APIError(.approvalDenied, approval.decisionReason.map { "The approver denied the call: \($0)" } ?? "The approver denied the call.")
        case .expired: throw APIError(.approvalExpired, "The approval window elapsed without a decision.")
        case .failed: throw APIError(.approvalExecutionFailed, approval.executionError ?? "The approved call could not be made.")
        case .pending, .approved, .executing: throw APIError(.approvalPending, "The approval is \(approval.status.rawValue); no result yet.")
        }
    }
}

extension SDKApprovalsController {
    /// Mounted on the signed `/sdk` group from above (`SDKRoutes` cannot name this room).
    struct Mounted: RouteCollection {
        func boot(routes: any RoutesBuilder) throws {
            try SDKRoutes.signed(routes).register(collection: SDKApprovalsController())
        }
    }
}
