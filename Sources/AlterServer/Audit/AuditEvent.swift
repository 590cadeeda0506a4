import FluentKit
import Foundation

/// One thing done with a grant: who (app, caller, agent), what (action, method, host), the
/// outcome (status), when, and for calls the SDK reports (`api_call`) how long it took and
/// the app's own `reason` and `context`. Never tokens, bodies, paths or query strings.
final class AuditEvent: Model, @unchecked Sendable {
    static let schema = "audit_events"

    enum Action: String, Codable, Sendable, CaseIterable {
        case proxy, token, refresh, revoke
        /// A provider call the official SDK made itself and reported (`/sdk/oauth/audit/api-call`).
        case apiCall = "api_call"
        /// The SDK saw a provider refuse a call for missing scopes.
        case scopeMismatch = "scope_mismatch"
        /// A grant's delegation to an agent was removed (by the app or by the agent).
        case delegationRevoked = "delegation_revoked"
        /// A managed secret's life: created, value rotated, allowed hosts changed, deleted;
        /// `grant` is a grant of it made to a principal.
        case secretCreated = "secret_created"
        case secretRotated = "secret_rotated"
        case secretHostsChanged = "secret_hosts_changed"
        case secretDeleted = "secret_deleted"
        case grant
        /// A policy rule refused a use of the grant (`context` names the rule and its code).
        case policyDenied = "policy_denied"
        /// A call waiting for a person: asked, decided, expired, then executed once (or failed).
        case approvalRequested = "approval_requested"
        case approvalApproved = "approval_approved"
        case approvalDenied = "approval_denied"
        case approvalExpired = "approval_expired"
        case approvalExecuted = "approval_executed"
        case approvalFailed = "approval_failed"
    }

    /// Longer reasons are cut: the audit log is not a document store.
    static let maxReasonLength = 500

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @OptionalField(key: "grant_id") var grantID: UUID?
    @Field(key: "action") var action: Action
    @OptionalField(key: "caller") var caller: String?
    @OptionalField(key: "agent") var agent: String?
    @OptionalField(key: "method") var method: String?
    @OptionalField(key: "host") var host: String?
    @OptionalField(key: "status") var status: Int?
    @Field(key: "at") var at: Date
    @OptionalField(key: "latency_ms") var latencyMS: Int?
    /// The app's stated reason (`reason` of the SDK's calls, of a revocation).
    @OptionalField(key: "reason") var reason: String?
    /// The app's own labels for the call (the SDK's `context`, string to string).
    @OptionalField(key: "context") var context: [String: String]?

    init() {}

    /// The model of an entry as `AuditLog` writes it (for a database that is not SQL).
    init(_ entry: AuditEntry) {
        self.id = entry.id
        self.$app.id = entry.appID
        self.grantID = entry.grantID
        self.action = entry.action
        self.caller = entry.caller
        self.agent = entry.agent
        self.method = entry.method
        self.host = entry.host
        self.status = entry.status
        self.at = entry.at
        self.latencyMS = entry.latencyMS
        self.reason = entry.reason
        self.context = entry.context
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(AuditEvent.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("grant_id", .uuid)
                .field("action", .string, .required)
                .field("caller", .string)
                .field("agent", .string)
                .field("method", .string)
                .field("host", .string)
                .field("status", .int)
                .field("at", .datetime, .required)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(AuditEvent.schema).delete()
        }
    }

    /// The fields of SDK-reported calls.
    struct AddSDKFields: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(AuditEvent.schema).field("latency_ms", .int).update()
            try await database.schema(AuditEvent.schema).field("reason", .string).update()
            try await database.schema(AuditEvent.schema).field("context", .dictionary(of: .string)).update()
        }

        func revert(on database: any Database) async throws {
            for field in ["context", "reason", "latency_ms"] {
                try await database.schema(AuditEvent.schema).deleteField(.string(field)).update()
            }
        }
    }
}
