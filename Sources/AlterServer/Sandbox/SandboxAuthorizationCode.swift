import FluentKit
import Foundation
import SQLKit

/// An authorization code the consent page issued (RFC 6749 §4.1.2): single use, short-lived,
/// bound to the client, redirect URI and PKCE challenge it was requested with. Only the
/// code's SHA-256 is stored.
final class SandboxAuthorizationCode: Model, @unchecked Sendable {
    static let schema = "sandbox_codes"
    static let prefix = "sbx_code_"
    /// RFC 6749 §4.1.2 recommends at most ten minutes; a minute is plenty for a redirect.
    static let lifetime: TimeInterval = 60

    @ID(key: .id) var id: UUID?
    @Field(key: "code_hash") var codeHash: String
    @Field(key: "client_id") var clientID: String
    @Field(key: "provider") var provider: String
    @Field(key: "redirect_uri") var redirectURI: String
    @Field(key: "code_challenge") var codeChallenge: String
    @Field(key: "account") var account: String
    @Field(key: "scope") var scope: String
    /// The OpenID Connect nonce of the request, for the ID token.
    @OptionalField(key: "nonce") var nonce: String?
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "used_at") var usedAt: Date?
    @Field(key: "created_at") var createdAt: Date

    init() {}

    /// Marks the code used and returns true, or returns false when it was already used.
    /// One conditional UPDATE, so two concurrent redemptions cannot both win.
    func redeem(at now: Date, on database: any Database) async throws -> Bool {
        guard let sql = database as? any SQLDatabase else { throw SandboxStorageError.notSQL }
        let rows = try await sql.update(Self.schema)
            .set("used_at", to: now)
            .where("code_hash", .equal, codeHash)
            .where("used_at", .is, SQLLiteral.null)
            .returning("code_hash")
            .all()
        return !rows.isEmpty
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(SandboxAuthorizationCode.schema)
                .id()
                .field("code_hash", .string, .required)
                .field("client_id", .string, .required)
                .field("provider", .string, .required)
                .field("redirect_uri", .string, .required)
                .field("code_challenge", .string, .required)
                .field("account", .string, .required)
                .field("scope", .string, .required)
                .field("expires_at", .datetime, .required)
                .field("used_at", .datetime)
                .field("created_at", .datetime, .required)
                .unique(on: "code_hash")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(SandboxAuthorizationCode.schema).delete()
        }
    }
}

extension SandboxAuthorizationCode {
    /// Adds `nonce` (OpenID Connect).
    struct AddNonce: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(SandboxAuthorizationCode.schema).field("nonce", .string).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(SandboxAuthorizationCode.schema).deleteField("nonce").update()
        }
    }
}

/// The sandbox's atomic updates need SQL; both supported databases speak it.
enum SandboxStorageError: Error {
    case notSQL
}
