import FluentKit
import Foundation

/// An operator-held credential of one app (an API key, a bearer token, Basic credentials):
/// how it is injected, the hosts it may be sent to, and its value, sealed and write-only.
/// Callers use it through `SecretGrant`s, each a `grant_id` like an OAuth grant's.
final class ManagedSecret: Model, @unchecked Sendable {
    static let schema = "managed_secrets"

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    /// Stable and unique per app: what `request(provider=…)` and `list_grants` name.
    @Field(key: "slug") var slug: String
    @Field(key: "name") var name: String
    @Field(key: "template") var template: String
    @Enum(key: "injection_kind") var kind: SecretTemplate.Kind
    @OptionalField(key: "injection_header") var header: String?
    @OptionalField(key: "injection_format") var format: String?
    @OptionalField(key: "query_parameter") var queryParameter: String?
    /// Origins (`scheme://host[:port]`) the value may be sent to; nothing else is called.
    @Field(key: "allowed_hosts") var allowedHosts: [String]
    /// Hosts on loopback or private networks are refused unless the operator said so.
    @Field(key: "allows_private_network") var allowsPrivateNetwork: Bool
    @Field(key: "value") var sealedValue: String
    @OptionalField(key: "rotated_at") var rotatedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    var injection: SecretInjection {
        .init(kind: kind, header: header, format: format, queryParameter: queryParameter, extraFields: SecretTemplate.named(template)?.extraFields ?? [])
    }

    func value(using sealer: Sealer) throws -> SecretValue {
        try SecretValue.opened(sealedValue, using: sealer, row: try requireID())
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            let kind = try await database.enum("managed_secret_kind").case("bearer").case("header").case("query").case("basic").create()
            try await database.schema(ManagedSecret.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("slug", .string, .required)
                .field("name", .string, .required)
                .field("template", .string, .required)
                .field("injection_kind", kind, .required)
                .field("injection_header", .string)
                .field("injection_format", .string)
                .field("query_parameter", .string)
                .field("allowed_hosts", .array(of: .string), .required)
                .field("allows_private_network", .bool, .required)
                .field("value", .string, .required)
                .field("rotated_at", .datetime)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .unique(on: "app_id", "slug")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(ManagedSecret.schema).delete()
            try await database.enum("managed_secret_kind").delete()
        }
    }
}
