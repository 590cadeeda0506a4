import FluentKit
import Foundation

/// What is left of a revoked grant: its id, app and user, so a later use of the id says
/// `grant_revoked` (the app should connect again) instead of an unexplained "not found".
/// No tokens, no account details.
final class RevokedGrant: Model, @unchecked Sendable {
    static let schema = "revoked_grants"

    /// The revoked grant's id.
    @ID(key: .id) var id: UUID?
    @Field(key: "app_id") var appID: UUID
    @Field(key: "user_subject") var userSubject: String
    @Field(key: "revoked_at") var revokedAt: Date

    init() {}

    init(grant: Grant, at date: Date) throws {
        id = try grant.requireID()
        appID = grant.$app.id
        userSubject = grant.userSubject
        revokedAt = date
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(RevokedGrant.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("user_subject", .string, .required)
                .field("revoked_at", .datetime, .required)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(RevokedGrant.schema).delete()
        }
    }
}
