import FluentKit
import Foundation

/// One principal's right to use a managed secret: an end user (by their `user_token`'s
/// `sub`), the app itself (system), or one of its agents. Its id is a `grant_id` like an
/// OAuth grant's; rotating the secret's value keeps it.
final class SecretGrant: Model, @unchecked Sendable {
    static let schema = "managed_secret_grants"

    enum PrincipalType: String, Codable, Sendable, CaseIterable {
        case user, system, agent
    }

    enum Status: String, Codable, Sendable {
        case active, revoked
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @Parent(key: "secret_id") var secret: ManagedSecret
    @Field(key: "principal_type") var principalType: PrincipalType
    /// `sub` of the user's `user_token` (user principals only).
    @OptionalField(key: "user_subject") var userSubject: String?
    /// The agent (agent principals only).
    @OptionalField(key: "agent_id") var agentID: UUID?
    @OptionalField(key: "label") var label: String?
    @Field(key: "status") var status: Status
    @OptionalField(key: "expires_at") var expiresAt: Date?
    @OptionalField(key: "max_ttl_seconds") var maxTTLSeconds: Int?
    @OptionalField(key: "default_ttl_seconds") var defaultTTLSeconds: Int?
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    func isExpired(at now: Date) -> Bool { expiresAt.map { $0 <= now } ?? false }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(SecretGrant.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("secret_id", .uuid, .required, .references(ManagedSecret.schema, .id, onDelete: .cascade))
                .field("principal_type", .string, .required)
                .field("user_subject", .string)
                .field("agent_id", .uuid)
                .field("label", .string)
                .field("status", .string, .required)
                .field("expires_at", .datetime)
                .field("max_ttl_seconds", .int)
                .field("default_ttl_seconds", .int)
                .field("last_used_at", .datetime)
                .field("created_at", .datetime)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(SecretGrant.schema).delete()
        }
    }
}
