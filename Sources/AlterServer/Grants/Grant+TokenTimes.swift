import FluentKit

extension Grant {
    /// Adds `tokens_stored_at` and `refreshed_at` (both NULL for grants stored before: they
    /// keep the fixed early-refresh margin and may refresh on a 401 once).
    struct AddTokenTimes: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(Grant.schema).field("tokens_stored_at", .datetime).update()
            try await database.schema(Grant.schema).field("refreshed_at", .datetime).update()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(Grant.schema).deleteField("refreshed_at").update()
            try await database.schema(Grant.schema).deleteField("tokens_stored_at").update()
        }
    }
}
