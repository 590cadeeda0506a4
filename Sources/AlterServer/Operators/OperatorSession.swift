import FluentKit
import Foundation

/// A signed-in browser: the SHA-256 of the cookie's token, its operator, the CSRF token its
/// forms carry, and when it ends (an absolute lifetime and an idle timeout). Sessions live in
/// the database so that every instance on one PostgreSQL sees a sign-in and a sign-out.
final class OperatorSession: Model, @unchecked Sendable {
    static let schema = "operator_sessions"

    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Parent(key: "operator_id") var signedIn: Operator
    /// Random, per session; every portal form posts it back (the synchronizer-token pattern).
    @Field(key: "csrf_token") var csrfToken: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @Field(key: "last_seen_at") var lastSeenAt: Date

    init() {}

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(OperatorSession.schema)
                .id()
                .field("token_hash", .string, .required)
                .field("operator_id", .uuid, .required, .references(Operator.schema, .id, onDelete: .cascade))
                .field("csrf_token", .string, .required)
                .field("created_at", .datetime, .required)
                .field("expires_at", .datetime, .required)
                .field("last_seen_at", .datetime, .required)
                .unique(on: "token_hash")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(OperatorSession.schema).delete()
        }
    }
}
