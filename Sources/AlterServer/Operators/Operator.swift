import FluentKit
import Foundation

/// A person who may sign in to the portal (`/portal`). Created by `alter operators create`,
/// either with a password (read from stdin) or with a one-time setup link that the person
/// opens to choose one. Only the scrypt hash of the password and the SHA-256 of the setup
/// token are stored.
final class Operator: Model, @unchecked Sendable {
    static let schema = "operators"

    @ID(key: .id) var id: UUID?
    /// Lower-cased; the sign-in name.
    @Field(key: "email") var email: String
    /// `OperatorPassword`'s encoded scrypt hash; nil until the setup link was used.
    @OptionalField(key: "password_hash") var passwordHash: String?
    @OptionalField(key: "setup_token_hash") var setupTokenHash: String?
    @OptionalField(key: "setup_expires_at") var setupExpiresAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "last_sign_in_at") var lastSignInAt: Date?

    init() {}

    init(email: String) {
        self.id = UUID()
        self.email = email
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(Operator.schema)
                .id()
                .field("email", .string, .required)
                .field("password_hash", .string)
                .field("setup_token_hash", .string)
                .field("setup_expires_at", .datetime)
                .field("created_at", .datetime)
                .field("last_sign_in_at", .datetime)
                .unique(on: "email")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(Operator.schema).delete()
        }
    }
}
