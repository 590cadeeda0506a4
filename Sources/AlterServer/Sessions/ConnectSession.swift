import FluentKit
import Foundation

/// A short-lived permission, minted by an app's backend, for one browser to connect
/// providers. Only `SHA-256(token)` is stored.
final class ConnectSession: Model, @unchecked Sendable {
    static let schema = "connect_sessions"
    static let tokenPrefix = "cs_"

    /// The stored half of the session's life; `state(at:)` adds the clock.
    enum Status: String, Codable, Sendable {
        case pending, completed, failed
    }

    /// How the widget opened the flow: results are posted to the opener, or the browser goes
    /// to `return_url`.
    enum Mode: String, Codable, Sendable {
        case popup, redirect
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "allowed_providers") var allowedProviders: [String]
    /// The effective origin: `allowed_origin`, else the app's `website_url` at mint time.
    @Field(key: "origin") var origin: String
    @OptionalField(key: "return_url") var returnURL: String?
    /// `sub` of the verified `user_token`.
    @OptionalField(key: "user_subject") var userSubject: String?
    /// The agent the grants of this session are delegated to (`Delegation`).
    @OptionalParent(key: "agent_id") var agent: Agent?
    /// The free-text `agent` of sessions minted before agents were identities; read once,
    /// by `Delegation.AddAgentReference`.
    @OptionalField(key: "agent") var legacyAgentName: String?
    /// Client context the app forwarded at mint time (`ip_address`, `user_agent`).
    @OptionalField(key: "metadata") var metadata: [String: String]?
    /// The grant this session re-authorizes (`repair_grant_id`) when the same account returns.
    @OptionalField(key: "repair_grant_id") var repairGrantID: UUID?
    /// `GrantTerms` as JSON: the lifetime and restrictions the grants of this session get.
    @OptionalField(key: "grant_terms") var grantTerms: String?
    @Field(key: "expires_at") var expiresAt: Date
    /// Set when the Connect UI first loads the token; a second load is refused.
    @OptionalField(key: "consumed_at") var consumedAt: Date?
    /// SHA-256 of the browser-binding cookie set on first load.
    @OptionalField(key: "browser_hash") var browserHash: String?
    @OptionalField(key: "mode") var mode: Mode?
    @OptionalField(key: "nonce") var nonce: String?
    @Enum(key: "status") var status: Status
    @OptionalField(key: "error_code") var errorCode: String?
    @OptionalField(key: "error_message") var errorMessage: String?
    @OptionalField(key: "error_details") var errorDetails: [String: String]?
    @OptionalField(key: "finished_at") var finishedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            let status = try await database.enum("connect_session_status").case("pending").case("completed").case("failed").create()
            try await database.schema(ConnectSession.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("token_hash", .string, .required)
                .field("allowed_providers", .array(of: .string), .required)
                .field("origin", .string, .required)
                .field("return_url", .string)
                .field("user_subject", .string)
                .field("agent", .string)
                .field("expires_at", .datetime, .required)
                .field("consumed_at", .datetime)
                .field("browser_hash", .string)
                .field("mode", .string)
                .field("nonce", .string)
                .field("status", status, .required)
                .field("error_code", .string)
                .field("error_message", .string)
                .field("error_details", .dictionary(of: .string))
                .field("finished_at", .datetime)
                .field("created_at", .datetime)
                .unique(on: "token_hash")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(ConnectSession.schema).delete()
            try await database.enum("connect_session_status").delete()
        }
    }

    /// Adds `metadata` and `repair_grant_id`.
    struct AddMetadata: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(ConnectSession.schema).field("metadata", .dictionary(of: .string)).update()
            try await database.schema(ConnectSession.schema).field("repair_grant_id", .uuid).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(ConnectSession.schema).deleteField("repair_grant_id").update()
            try await database.schema(ConnectSession.schema).deleteField("metadata").update()
        }
    }
}

extension ConnectSession {
    /// Adds `grant_terms` (`grant_policy` and `requested_grant.restrictions`, issue 16).
    struct AddGrantTerms: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(ConnectSession.schema).field("grant_terms", .string).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(ConnectSession.schema).deleteField("grant_terms").update()
        }
    }

    /// The session a bearer of `token` holds, by the token's hash; nil for a malformed or
    /// unknown token.
    static func find(token: String, on db: any Database) async throws -> ConnectSession? {
        guard SecretToken.isWellFormed(token, prefix: tokenPrefix) else { return nil }
        return try await query(on: db).filter(\.$tokenHash == SecretToken.hash(token)).first()
    }
}
