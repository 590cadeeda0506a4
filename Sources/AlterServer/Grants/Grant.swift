import FluentKit
import Foundation

/// A user's authorization of one app at one provider account: the tokens the vault holds
/// and refreshes. Tokens are sealed, bound to this grant's id and the field name.
final class Grant: Model, @unchecked Sendable {
    static let schema = "grants"

    enum Status: String, Codable, Sendable {
        case active, pending, error, revoked
    }

    enum SealedField: String {
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @Field(key: "provider") var provider: String
    @Field(key: "account_identifier") var accountIdentifier: String
    /// `sub` of the end user's `user_token`; empty when the session had none. (Empty rather
    /// than NULL so the unique constraint below also holds for anonymous grants.)
    @Field(key: "user_subject") var userSubject: String
    @Field(key: "scopes") var scopes: [String]
    @Enum(key: "status") var status: Status
    @Field(key: "access_token") var sealedAccessToken: String
    @OptionalField(key: "refresh_token") var sealedRefreshToken: String?
    @OptionalField(key: "expires_at") var expiresAt: Date?
    @OptionalField(key: "account_display_name") var accountDisplayName: String?
    @OptionalField(key: "account_email") var accountEmail: String?
    /// Values the API host depends on, e.g. Salesforce's `instance_url`.
    @OptionalField(key: "variables") var variables: [String: String]?
    /// When the vault last stored tokens (connect, reauth or refresh), by the vault's clock;
    /// with `expiresAt` it gives the token's lifetime (the early-refresh margin depends on it).
    @OptionalField(key: "tokens_stored_at") var tokensStoredAt: Date?
    /// When a refresh last stored tokens: a provider's 401 triggers another refresh only a
    /// while after it (`RefreshCoordinator.mayRefreshAfterRejection`).
    @OptionalField(key: "refreshed_at") var refreshedAt: Date?
    /// When the person last connected this grant (made or re-authorized it), `Grant+Terms`.
    @OptionalField(key: "connected_at") var connectedAt: Date?
    /// `GrantTerms` JSON: the lifetime and restrictions its session set, enforced by `PolicyCheck`.
    @OptionalField(key: "terms") var terms: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func accessToken(using sealer: Sealer) throws -> String {
        try Self.open(sealedAccessToken, .accessToken, grantID: try requireID(), using: sealer)
    }

    func refreshToken(using sealer: Sealer) throws -> String? {
        guard let sealed = sealedRefreshToken else { return nil }
        return try Self.open(sealed, .refreshToken, grantID: try requireID(), using: sealer)
    }

    /// Opens one of a grant's sealed tokens, bound to the grant's id (upper-case, as sealed) and the field.
    static func open(_ sealed: String, _ field: SealedField, grantID: UUID, using sealer: Sealer) throws -> String {
        try sealer.open(sealed, row: grantID.uppercasedString, field: field.rawValue)
    }

    /// Replaces both tokens; a provider that sends no new refresh token keeps the old one.
    func store(_ tokens: ProviderTokens, using sealer: Sealer, at now: Date) throws {
        tokensStoredAt = now
        let row = try requireID().uppercasedString
        sealedAccessToken = try sealer.seal(tokens.accessToken, row: row, field: SealedField.accessToken.rawValue)
        if let refresh = tokens.refreshToken {
            sealedRefreshToken = try sealer.seal(refresh, row: row, field: SealedField.refreshToken.rawValue)
        }
        expiresAt = tokens.expiresAt
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            let status = try await database.enum("grant_status").case("active").case("pending").case("error").case("revoked").create()
            try await database.schema(Grant.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("provider", .string, .required)
                .field("account_identifier", .string, .required)
                .field("user_subject", .string, .required)
                .field("scopes", .array(of: .string), .required)
                .field("status", status, .required)
                .field("access_token", .string, .required)
                .field("refresh_token", .string)
                .field("expires_at", .datetime)
                .field("account_display_name", .string)
                .field("account_email", .string)
                .field("variables", .dictionary(of: .string))
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                // Two simultaneous completions for the same account yield one row.
                .unique(on: "app_id", "provider", "account_identifier", "user_subject")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(Grant.schema).delete()
            try await database.enum("grant_status").delete()
        }
    }
}
