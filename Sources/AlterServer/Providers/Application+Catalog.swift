import Fluent
import Vapor

extension Application {
    private enum CatalogKey: StorageKey { typealias Value = ProviderCatalog }

    /// The provider catalog loaded at start-up (set by `configure(_:with:)`).
    var providerCatalog: ProviderCatalog {
        get {
            guard let value = storage[CatalogKey.self] else { fatalError("configure(_:with:) has not run") }
            return value
        }
        set { storage[CatalogKey.self] = newValue }
    }
}
