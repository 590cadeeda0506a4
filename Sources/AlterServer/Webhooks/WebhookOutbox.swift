import FluentKit
import Foundation

/// Webhook events waiting to be delivered. Written in the same transaction as the change
/// they describe, so an event exists exactly when its change committed; delivered at least
/// once by `WebhookDispatcher`, which survives restarts because the queue is this table.
final class WebhookOutbox: Model, @unchecked Sendable {
    static let schema = "webhook_outbox"

    enum EventType: String, Codable, Sendable {
        case grantCreated = "grant.created"
        case grantReauthorized = "grant.reauthorized"
        case grantRevoked = "grant.revoked"
        case grantRefreshFailed = "grant.refresh_failed"
        /// A call waits for a person's approval (`Approvals.hold`).
        case approvalRequested = "approval.requested"
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @Field(key: "type") var type: EventType
    /// The exact JSON body that is signed and sent.
    @Field(key: "payload") var payload: String
    @Field(key: "attempts") var attempts: Int
    @Field(key: "next_attempt_at") var nextAttemptAt: Date
    @OptionalField(key: "delivered_at") var deliveredAt: Date?
    @OptionalField(key: "last_error") var lastError: String?
    @Field(key: "created_at") var createdAt: Date

    init() {}

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(WebhookOutbox.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("type", .string, .required)
                .field("payload", .string, .required)
                .field("attempts", .int, .required)
                .field("next_attempt_at", .datetime, .required)
                .field("delivered_at", .datetime)
                .field("last_error", .string)
                .field("created_at", .datetime, .required)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(WebhookOutbox.schema).delete()
        }
    }
}
