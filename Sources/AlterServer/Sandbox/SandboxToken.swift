import FluentKit
import Foundation
import SQLKit

/// An access or refresh token the sandbox issued. Only its SHA-256 is stored. Every token of
/// one authorization shares a `grant_id` (the code's id), so a reused code or a revoked
/// refresh token can take the whole family down (RFC 6749 §4.1.2, RFC 7009 §2.1).
final class SandboxToken: Model, @unchecked Sendable {
    static let schema = "sandbox_tokens"
    /// Refresh tokens expire too, so a client's "refresh token expired" path can be exercised.
    static let refreshLifetime: TimeInterval = 30 * 24 * 3600

    enum Kind: String, Codable, Sendable {
        case access, refresh

        var prefix: String { self == .access ? "sbx_at_" : "sbx_rt_" }
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "kind") var kind: Kind
    @Field(key: "grant_id") var grantID: UUID
    @Field(key: "client_id") var clientID: String
    @Field(key: "provider") var provider: String
    @Field(key: "account") var account: String
    @Field(key: "scope") var scope: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @Field(key: "created_at") var createdAt: Date

    init() {}

    func isLive(at now: Date) -> Bool { revokedAt == nil && expiresAt > now }

    /// Looks a presented token up by its hash; nil for anything unknown or of the other kind.
    static func find(_ token: String, kind: Kind, on database: any Database) async throws -> SandboxToken? {
        guard SecretToken.isWellFormed(token, prefix: kind.prefix) else { return nil }
        return try await SandboxToken.query(on: database)
            .filter(\.$tokenHash == SecretToken.hash(token)).filter(\.$kind == kind).first()
    }

    /// Revokes this token and returns true, or returns false when it was already revoked.
    /// One conditional UPDATE, so of two concurrent refreshes with one token only one wins.
    func revokeIfLive(at now: Date, on database: any Database) async throws -> Bool {
        guard let sql = database as? any SQLDatabase else { throw SandboxStorageError.notSQL }
        let rows = try await sql.update(Self.schema)
            .set("revoked_at", to: now)
            .where("token_hash", .equal, tokenHash)
            .where("revoked_at", .is, SQLLiteral.null)
            .returning("token_hash")
            .all()
        return !rows.isEmpty
    }

    /// Revokes every token of one authorization.
    static func revokeGrant(_ grantID: UUID, at now: Date, on database: any Database) async throws {
        try await SandboxToken.query(on: database)
            .filter(\.$grantID == grantID).filter(\.$revokedAt == nil)
            .set(\.$revokedAt, to: now).update()
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(SandboxToken.schema)
                .id()
                .field("token_hash", .string, .required)
                .field("kind", .string, .required)
                .field("grant_id", .uuid, .required)
                .field("client_id", .string, .required)
                .field("provider", .string, .required)
                .field("account", .string, .required)
                .field("scope", .string, .required)
                .field("expires_at", .datetime, .required)
                .field("revoked_at", .datetime)
                .field("created_at", .datetime, .required)
                .unique(on: "token_hash")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(SandboxToken.schema).delete()
        }
    }
}

/// What the token endpoint hands out for one authorization: a fresh access token and a
/// fresh refresh token (the refresh token rotates on every use).
struct SandboxIssuedTokens: Sendable {
    let accessToken: String
    let refreshToken: String
    let expiresIn: Int
    let scope: String

    /// Creates both tokens for `grant`. `accessTTL` comes from the control switch.
    static func issue(
        grantID: UUID, clientID: String, provider: String, account: String, scope: String,
        accessTTL: Int, now: Date, on database: any Database
    ) async throws -> SandboxIssuedTokens {
        var secrets: [SandboxToken.Kind: String] = [:]
        for kind in [SandboxToken.Kind.access, .refresh] {
            let secret = SecretToken.generate(prefix: kind.prefix)
            let token = SandboxToken()
            token.tokenHash = SecretToken.hash(secret)
            token.kind = kind
            token.grantID = grantID
            token.clientID = clientID
            token.provider = provider
            token.account = account
            token.scope = scope
            token.expiresAt = now.addingTimeInterval(kind == .access ? TimeInterval(accessTTL) : SandboxToken.refreshLifetime)
            token.createdAt = now
            try await token.create(on: database)
            secrets[kind] = secret
        }
        return SandboxIssuedTokens(accessToken: secrets[.access]!, refreshToken: secrets[.refresh]!, expiresIn: accessTTL, scope: scope)
    }
}
