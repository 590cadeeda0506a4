import FluentKit
import Foundation

/// A provider call a `requires_approval` rule holds until a person decides: who asked (the
/// caller, kept to run the call as them), what (method, URL, reason; headers and body
/// sealed), the decision and, once run, the sealed result. Its status moves only forward,
/// each step one conditional UPDATE (`ClaimOnce`), so the call runs once however many
/// instances or approvers race.
final class Approval: Model, @unchecked Sendable {
    static let schema = "approvals"

    enum Status: String, Codable, Sendable {
        case pending, approved, executing, denied, expired, executed, failed

        var isTerminal: Bool { [.denied, .expired, .executed, .failed].contains(self) }
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @Field(key: "rule_id") var ruleID: UUID
    @Field(key: "status") var status: Status
    /// The OAuth or managed-secret grant the call uses, resolved again when it runs.
    @Field(key: "credential_id") var credentialID: UUID
    @Field(key: "key_id") var keyID: UUID
    /// `app`, `agent_key` or `app_as_agent` (`Caller.Kind`).
    @Field(key: "caller_kind") var callerKind: String
    @OptionalField(key: "agent_id") var agentID: UUID?
    /// The caller label (`X-Alter-Caller`), shown to the approver.
    @OptionalField(key: "caller") var caller: String?
    @Field(key: "method") var method: String
    @Field(key: "url") var url: String
    @OptionalField(key: "reason") var reason: String?
    /// `{"headers": {...}, "body_b64": ...}`, sealed.
    @Field(key: "sealed_call") var sealedCall: String
    @Field(key: "approver_token_hash") var approverTokenHash: String?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "decided_at") var decidedAt: Date?
    @OptionalField(key: "decision_reason") var decisionReason: String?
    /// Set with `executing`: past it, the run is taken as interrupted (`Approvals.expireIfDue`).
    @OptionalField(key: "execution_deadline") var executionDeadline: Date?
    @OptionalField(key: "executed_at") var executedAt: Date?
    @OptionalField(key: "execution_error") var executionError: String?
    /// The provider's answer as the SDK's `ApprovalResult` JSON, sealed.
    @OptionalField(key: "sealed_result") var sealedResult: String?

    static let callField = "sealed_call"
    static let resultField = "sealed_result"

    init() {}

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(Approval.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("rule_id", .uuid, .required)
                .field("status", .string, .required)
                .field("credential_id", .uuid, .required)
                .field("key_id", .uuid, .required)
                .field("caller_kind", .string, .required)
                .field("agent_id", .uuid)
                .field("caller", .string)
                .field("method", .string, .required)
                .field("url", .string, .required)
                .field("reason", .string)
                .field("sealed_call", .string, .required)
                .field("approver_token_hash", .string)
                .field("created_at", .datetime, .required)
                .field("expires_at", .datetime, .required)
                .field("decided_at", .datetime)
                .field("decision_reason", .string)
                .field("executed_at", .datetime)
                .field("execution_error", .string)
                .field("sealed_result", .string)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(Approval.schema).delete()
        }
    }

    /// Adds `execution_deadline`: an approved call cut by a crash ends as `failed` instead of
    /// staying `executing` forever.
    struct AddExecutionDeadline: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(Approval.schema).field("execution_deadline", .datetime).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(Approval.schema).deleteField("execution_deadline").update()
        }
    }

    /// The stable code an interrupted run's `execution_error` starts with.
    static let interruptedCode = "approval_interrupted"
}
