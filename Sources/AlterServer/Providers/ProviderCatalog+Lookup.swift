import FluentKit
import Foundation

extension ProviderCatalog {
    /// One provider as an app sees it: a shipped entry, else that app's custom provider.
    /// Cheaper than `forApp` on hot paths (the proxy): no query for shipped providers.
    func provider(_ id: String, forApp appID: UUID, on db: any Database) async throws -> CatalogProvider? {
        if let shipped = self[id] { return shipped }
        return try await forApp(appID, on: db)[id]
    }
}
