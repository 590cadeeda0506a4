import Foundation

/// The providers this server knows: the shipped catalog plus the built-in sandbox ones.
struct ProviderCatalog: Sendable {
    private(set) var providers: [String: CatalogProvider]

    init(providers: [CatalogProvider]) throws {
        var byID: [String: CatalogProvider] = [:]
        for provider in providers {
            guard byID.updateValue(provider, forKey: provider.id) == nil else {
                throw ConfigurationError("provider catalog lists '\(provider.id)' twice")
            }
        }
        self.providers = byID
    }

    subscript(id: String) -> CatalogProvider? { providers[id] }

    var sorted: [CatalogProvider] { providers.values.sorted { $0.name.lowercased() < $1.name.lowercased() } }

    /// The shipped catalog file.
    static func loadShipped() throws -> [CatalogProvider] {
        guard let url = Bundle.module.url(forResource: "providers", withExtension: "json", subdirectory: "Resources") else {
            return []
        }
        struct File: Decodable {
            var version: Int
            var providers: [CatalogProvider]
        }
        do {
            let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
            guard file.version == 1 else { throw ConfigurationError("provider catalog version \(file.version) is not supported") }
            return file.providers
        } catch let error as DecodingError {
            throw ConfigurationError("provider catalog is invalid: \(error)")
        }
    }

    /// The catalog for a server: shipped providers, plus the sandbox when it is enabled.
    static func make(for configuration: AlterConfiguration) throws -> ProviderCatalog {
        var providers = try loadShipped()
        if configuration.sandboxEnabled {
            providers += SandboxProviders.catalogEntries(publicURL: configuration.publicURL)
        }
        return try ProviderCatalog(providers: providers)
    }
}
