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
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func clientSecret(using sealer: Sealer) throws -> String {
        try sealer.open(sealedClientSecret, row: try requireID().uuidString, field: Self.secretField)
    }

    func setClientSecret(_ secret: String, using sealer: Sealer) throws {
        sealedClientSecret = try sealer.seal(secret, row: try requireID().uuidString, field: Self.secretField)
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
