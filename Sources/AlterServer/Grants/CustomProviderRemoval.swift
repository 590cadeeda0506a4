import Fluent
import FluentKit
import Foundation

extension ProviderSetup {
    /// Removes a custom provider and its client config; refused while grants use it.
    func removeCustom(_ id: String) async throws {
        guard let row = try await CustomProvider.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == id).first() else {
            throw Refusal.noSuchCustomProvider(id)
        }
        let grants = try await Grant.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == id).count()
        guard grants == 0 else { throw Refusal.grantsUseProvider(grants) }
        try await db.transaction { db in
            try await ProviderConfig.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == id).delete()
            try await row.delete(on: db)
        }
    }
}
