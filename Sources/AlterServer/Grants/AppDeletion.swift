import Fluent
import FluentKit
import Foundation

/// Deleting an app: refused while it holds grants (their tokens would be dropped without
/// being revoked at the providers); otherwise its keys, agents, provider configs, secrets,
/// sessions and audit trail go with it (the tables' ON DELETE CASCADE).
enum AppDeletion {
    static func delete(_ app: ClientApp, confirmingName typed: String, on db: any Database) async throws {
        guard typed == app.name else { throw APIError.invalidRequest("Type the app's name exactly to delete it.") }
        let appID = try app.requireID()
        let grants = try await Grant.query(on: db).filter(\.$app.$id == appID).count()
        guard grants == 0 else { throw APIError.invalidRequest("This app holds \(grants) grant(s); revoke them first (Grants), then delete the app.") }
        try await app.delete(on: db)
    }
}
