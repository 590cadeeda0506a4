import FluentKit
import Foundation

/// An application that uses the vault: it mints Connect sessions with its keys and owns the
/// grants its users create.
final class ClientApp: Model, @unchecked Sendable {
    static let schema = "apps"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    /// Canonical origin used when a session has no `allowed_origin`.
    @OptionalField(key: "website_url") var websiteURL: String?
    /// JWT identity: how `user_token`s from this app are verified.
    @OptionalField(key: "jwt_issuer") var jwtIssuer: String?
    @OptionalField(key: "jwt_audience") var jwtAudience: String?
    /// True only when the operator said so (`--any-audience`): then tokens need no `aud`.
    /// Otherwise a JWT identity without an audience verifies nothing (review F10: a
    /// multi-client issuer's token for another site would pass).
    @OptionalField(key: "jwt_any_audience") var jwtAnyAudience: Bool?
    /// The `azp` tokens must carry (OIDC Core §2: the client the token was issued to), if set.
    @OptionalField(key: "jwt_authorized_party") var jwtAuthorizedParty: String?
    @OptionalField(key: "jwt_jwks_url") var jwtJWKSURL: String?
    @OptionalField(key: "jwt_public_key_pem") var jwtPublicKeyPEM: String?
    @OptionalField(key: "jwt_algorithms") var jwtAlgorithms: [String]?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    /// Where grant events are POSTed (see `AppWebhookMigration`).
    @OptionalField(key: "webhook_url") var webhookURL: String?
    @OptionalField(key: "webhook_secret") var sealedWebhookSecret: String?

    static let webhookSecretField = "webhook_secret"

    func webhookSecret(using sealer: Sealer) throws -> String? {
        guard let sealed = sealedWebhookSecret else { return nil }
        return try sealer.open(sealed, row: try requireID().uuidString, field: Self.webhookSecretField)
    }

    init() {}

    init(id: UUID = UUID(), name: String, websiteURL: String?) {
        self.id = id
        self.name = name
        self.websiteURL = websiteURL
    }

    var hasJWTIdentity: Bool { jwtIssuer != nil && (jwtJWKSURL != nil || jwtPublicKeyPEM != nil) }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(ClientApp.schema)
                .id()
                .field("name", .string, .required)
                .field("website_url", .string)
                .field("jwt_issuer", .string)
                .field("jwt_audience", .string)
                .field("jwt_jwks_url", .string)
                .field("jwt_public_key_pem", .string)
                .field("jwt_algorithms", .array(of: .string))
                .field("created_at", .datetime)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(ClientApp.schema).delete()
        }
    }
}
