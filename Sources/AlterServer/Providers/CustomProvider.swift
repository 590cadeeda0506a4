import FluentKit
import Foundation

/// An app's own OAuth 2.0 provider (`alter providers add-custom`): a catalog entry stored
/// per app, seen only by that app (`ProviderCatalog.forApp(_:on:)`).
final class CustomProvider: Model, @unchecked Sendable {
    static let schema = "custom_providers"

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    /// The provider id sessions, grants and configs use (`my-idp`).
    @Field(key: "provider") var provider: String
    /// The entry as catalog JSON (`CatalogProvider`'s keys).
    @Field(key: "definition") var definition: String
    /// Set only by `--allow-private-network`, for loopback test servers.
    @Field(key: "allows_private_network") var allowsPrivateNetwork: Bool
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    /// The stored entry, marked custom; nil when the row cannot be decoded.
    var entry: CatalogProvider? {
        guard var entry = try? JSONDecoder().decode(CatalogProvider.self, from: Data(definition.utf8)) else { return nil }
        entry.allowsPrivateNetwork = allowsPrivateNetwork
        entry.isCustom = true
        return entry
    }

    func store(_ entry: CatalogProvider) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        provider = entry.id
        definition = String(decoding: try encoder.encode(entry), as: UTF8.self)
        allowsPrivateNetwork = entry.allowsPrivateNetwork
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(CustomProvider.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("provider", .string, .required)
                .field("definition", .string, .required)
                .field("allows_private_network", .bool, .required)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .unique(on: "app_id", "provider")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(CustomProvider.schema).delete()
        }
    }
}
