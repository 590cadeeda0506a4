import FluentKit
import Foundation

/// One trip to a provider's authorization page. The `state` (stored as a hash) binds the
/// callback to this attempt, its session, its provider and the browser that started it
/// (RFC 9700 §4.7.1); the PKCE verifier is sealed.
final class OAuthAttempt: Model, @unchecked Sendable {
    static let schema = "oauth_attempts"
    static let verifierField = "code_verifier"
    /// How long the user may spend at the provider before the callback is refused.
    static let lifetime: TimeInterval = 600

    @ID(key: .id) var id: UUID?
    @Parent(key: "session_id") var session: ConnectSession
    @Field(key: "provider") var provider: String
    @Field(key: "state_hash") var stateHash: String
    @Field(key: "code_verifier") var sealedVerifier: String
    @Field(key: "browser_hash") var browserHash: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "consumed_at") var consumedAt: Date?
    /// Set when the callback has finished with this attempt (stored a grant or failed).
    /// Until then the attempt is "in progress", also while the callback is still talking to
    /// the provider after consuming the state.
    @OptionalField(key: "finished_at") var finishedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    func verifier(using sealer: Sealer) throws -> String {
        try sealer.open(sealedVerifier, row: try requireID().uuidString, field: Self.verifierField)
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(OAuthAttempt.schema)
                .id()
                .field("session_id", .uuid, .required, .references(ConnectSession.schema, .id, onDelete: .cascade))
                .field("provider", .string, .required)
                .field("state_hash", .string, .required)
                .field("code_verifier", .string, .required)
                .field("browser_hash", .string, .required)
                .field("expires_at", .datetime, .required)
                .field("consumed_at", .datetime)
                .field("created_at", .datetime)
                .unique(on: "state_hash")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(OAuthAttempt.schema).delete()
        }
    }

    /// Adds `finished_at` (see `finishedAt`).
    struct AddFinishedAt: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(OAuthAttempt.schema).field("finished_at", .datetime).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(OAuthAttempt.schema).deleteField("finished_at").update()
        }
    }
}
