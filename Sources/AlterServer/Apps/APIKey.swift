import FluentKit
import Foundation

/// An app's secret key for the server API (`/v1`, Bearer) and the official SDK's protocol
/// (`/sdk`, `x-api-key` + signature). Only `SHA-256(key)` is stored; the key itself is shown
/// once, when it is created. New keys are `alter_rk_…` (`ScopedKey`); keys minted before
/// that format (`ak_…`) keep working on `/v1`.
final class APIKey: Model, @unchecked Sendable {
    static let schema = "api_keys"
    /// The first app key format (`ak_` + 43 base64url); still accepted on `/v1`.
    static let legacyPrefix = "ak_"

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    /// The first characters of the key, to tell keys apart in listings.
    @Field(key: "display_prefix") var displayPrefix: String
    @Field(key: "key_hash") var keyHash: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?

    init() {}

    /// True for either key format; anything else is refused before a database read.
    static func isWellFormed(_ secret: String) -> Bool {
        ScopedKey.isWellFormed(secret) || SecretToken.isWellFormed(secret, prefix: legacyPrefix)
    }

    /// Creates a key for `appID`, returning the model and the secret to show once.
    static func make(for appID: UUID) -> (APIKey, secret: String) {
        let secret = ScopedKey.generate()
        let key = APIKey()
        key.id = UUID()
        key.$app.id = appID
        key.displayPrefix = String(secret.prefix(ScopedKey.prefix.count + 6))
        key.keyHash = SecretToken.hash(secret)
        return (key, secret)
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(APIKey.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("display_prefix", .string, .required)
                .field("key_hash", .string, .required)
                .field("created_at", .datetime)
                .field("last_used_at", .datetime)
                .field("revoked_at", .datetime)
                .unique(on: "key_hash")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(APIKey.schema).delete()
        }
    }
}
