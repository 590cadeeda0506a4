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
    /// Until when the callback that consumed the state holds this attempt; past it, an attempt
    /// still unfinished was interrupted (`AttemptLease`). Nil until consumed.
    @OptionalField(key: "lease_until") var leaseUntil: Date?
    /// The redirect URI the authorization request named; the callback answers only there
    /// (RFC 9700 §4.4.2.2). Nil for attempts started before it was recorded: the shared one.
    @OptionalField(key: "redirect_uri") var redirectURI: String?
    /// SHA-256 of the OpenID Connect nonce sent with `openid`, checked in the ID token.
    @OptionalField(key: "nonce_hash") var nonceHash: String?
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

    /// Adds `redirect_uri` and `nonce_hash` (see `redirectURI`, `nonceHash`).
    struct AddRedirectURIAndNonce: AsyncMigration {
        func prepare(on database: any Database) async throws {
            // One column per ALTER: SQLite adds only one at a time.
            try await database.schema(OAuthAttempt.schema).field("redirect_uri", .string).update()
            try await database.schema(OAuthAttempt.schema).field("nonce_hash", .string).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(OAuthAttempt.schema).deleteField("nonce_hash").update()
            try await database.schema(OAuthAttempt.schema).deleteField("redirect_uri").update()
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

    /// Adds `lease_until` (see `leaseUntil`).
    struct AddLease: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(OAuthAttempt.schema).field("lease_until", .datetime).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(OAuthAttempt.schema).deleteField("lease_until").update()
        }
    }
}
