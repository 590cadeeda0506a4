import FluentKit
import Foundation

/// An app's OAuth client registration at one provider. The client secret is stored sealed,
/// bound to this row and field.
final class ProviderConfig: Model, @unchecked Sendable {
    static let schema = "provider_configs"
    static let secretField = "client_secret"

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @Field(key: "provider") var provider: String
    @Field(key: "client_id") var clientID: String
    @Field(key: "client_secret") var sealedClientSecret: String
    /// Scopes to request; empty means the catalog's default scopes.
    @Field(key: "scopes") var scopes: [String]
    @Field(key: "enabled") var enabled: Bool
    /// Values for the catalog entry's URL variables (`subdomain`, `shop`, `tenant`).
    @OptionalField(key: "variables") var variables: [String: String]?
    /// True for configs made before redirect URIs were per provider: they keep the shared
    /// `/oauth/callback` registered at the provider until an admin moves them
    /// (`alter providers configure --move-redirect-uri`). See `redirectURI(publicURL:)`.
    @OptionalField(key: "legacy_callback") var legacyCallback: Bool?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func clientSecret(using sealer: Sealer) throws -> String {
        try sealer.open(sealedClientSecret, row: try requireID().uuidString, field: Self.secretField)
    }

    func setClientSecret(_ secret: String, using sealer: Sealer) throws {
        sealedClientSecret = try sealer.seal(secret, row: try requireID().uuidString, field: Self.secretField)
    }

    /// The one redirect URI this config's authorization requests use and its callback accepts.
    ///
    /// RFC 9700 §4.4.2.2: a distinct redirect URI per authorization server, so a response
    /// that arrives at one provider's URI cannot be taken for another provider's (mix-up).
    static func redirectURI(publicURL: String, provider: String, legacy: Bool) -> String {
        publicURL + (legacy ? legacyCallbackPath : legacyCallbackPath + "/" + provider)
    }

    /// The shared redirect path every provider used before.
    static let legacyCallbackPath = "/oauth/callback"

    func redirectURI(publicURL: String) -> String {
        Self.redirectURI(publicURL: publicURL, provider: provider, legacy: legacyCallback == true)
    }

    /// Adds `legacy_callback` and sets it on every existing config: their providers have
    /// `{ALTER_PUBLIC_URL}/oauth/callback` registered, so they keep it until moved.
    struct AddLegacyCallback: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(ProviderConfig.schema).field("legacy_callback", .bool).update()
            try await Self.markExistingConfigs(on: database)
        }

        static func markExistingConfigs(on database: any Database) async throws {
            try await ProviderConfig.query(on: database).set(\.$legacyCallback, to: true).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(ProviderConfig.schema).deleteField("legacy_callback").update()
        }
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(ProviderConfig.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("provider", .string, .required)
                .field("client_id", .string, .required)
                .field("client_secret", .string, .required)
                .field("scopes", .array(of: .string), .required)
                .field("enabled", .bool, .required)
                .field("variables", .dictionary(of: .string))
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .unique(on: "app_id", "provider")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(ProviderConfig.schema).delete()
        }
    }
}
