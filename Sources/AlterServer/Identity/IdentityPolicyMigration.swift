import FluentKit

/// Adds the JWT identity's explicit audience opt-out and its authorized party (review F10).
struct IdentityPolicyMigration: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ClientApp.schema).field("jwt_any_audience", .bool).update()
        try await database.schema(ClientApp.schema).field("jwt_authorized_party", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ClientApp.schema).deleteField("jwt_authorized_party").update()
        try await database.schema(ClientApp.schema).deleteField("jwt_any_audience").update()
    }
}
