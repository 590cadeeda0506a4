import FluentKit
import Foundation

extension ProviderCatalog {
    /// The catalog as one app sees it: the shipped providers plus the app's custom ones.
    ///
    /// Everything that looks a provider up for an app goes through here — session minting,
    /// the Connect UI, the OAuth callback, `GET /v1/providers`, the proxy and refresh — so a
    /// custom provider works wherever a shipped one does, and only for its own app:
    ///
    ///     let catalog = try await request.application.providerCatalog.forApp(appID, on: request.db)
    ///     guard let provider = catalog[grant.provider] else { … }
    ///
    /// A stored custom entry that no longer passes `CatalogRules` is left out (and logged by
    /// `alter providers list`), never half-used.
    func forApp(_ appID: UUID, on db: any Database) async throws -> ProviderCatalog {
        let rows = try await CustomProvider.query(on: db).filter(\.$app.$id == appID).all()
        return adding(custom: rows.compactMap(\.entry)).catalog
    }
}
