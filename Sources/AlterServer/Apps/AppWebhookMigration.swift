import FluentKit

/// Adds per-app webhook settings (the secret is stored sealed).
struct AppWebhookMigration: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ClientApp.schema).field("webhook_url", .string).update()
        try await database.schema(ClientApp.schema).field("webhook_secret", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ClientApp.schema).deleteField("webhook_secret").update()
        try await database.schema(ClientApp.schema).deleteField("webhook_url").update()
    }
}
