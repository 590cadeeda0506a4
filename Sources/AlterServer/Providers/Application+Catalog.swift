import Fluent
import Vapor

extension Application {
    private enum CatalogKey: StorageKey { typealias Value = ProviderCatalog }

    /// The provider catalog loaded at start-up (set by `configure(_:with:)`).
    var providerCatalog: ProviderCatalog {
        get { requiredService(CatalogKey.self) }
        set { storage[CatalogKey.self] = newValue }
    }
}
