import Foundation

/// The providers this server knows: the shipped catalog plus what `configure` adds (the
/// built-in sandbox entries when the sandbox is on).
/// Every entry has passed `CatalogRules`. An app's own view adds its custom providers
/// (`forApp(_:on:)` in ProviderCatalog+Apps.swift).
struct ProviderCatalog: Sendable {
    private(set) var providers: [String: CatalogProvider]

    /// Checks every entry; a bad one stops the server with a message naming it and the rule.
    init(providers: [CatalogProvider]) throws(CatalogViolation) {
        var byID: [String: CatalogProvider] = [:]
        for provider in providers {
            try CatalogRules.check(provider)
            guard byID.updateValue(provider, forKey: provider.id) == nil else {
                throw CatalogViolation(provider: provider.id, rule: "the catalog lists this id twice")
            }
        }
        self.providers = byID
    }

    private init(checked: [String: CatalogProvider]) {
        self.providers = checked
    }

    subscript(id: String) -> CatalogProvider? { providers[id] }

    var sorted: [CatalogProvider] {
        providers.values.sorted { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) }
    }

    /// This catalog plus custom entries. Custom entries that break a rule or reuse a
    /// catalog id are left out and reported, so one bad row cannot hide the others.
    func adding(custom: [CatalogProvider]) -> (catalog: ProviderCatalog, rejected: [CatalogViolation]) {
        var merged = providers
        var rejected: [CatalogViolation] = []
        for var provider in custom {
            provider.isCustom = true
            do throws(CatalogViolation) {
                try CatalogRules.check(provider)
                guard merged[provider.id] == nil else {
                    throw CatalogViolation(provider: provider.id, rule: "a provider with this id already exists")
                }
                merged[provider.id] = provider
            } catch {
                rejected.append(error)
            }
        }
        return (ProviderCatalog(checked: merged), rejected)
    }

    // MARK: - Loading

    /// Decodes a catalog file (`{"version": 1, "providers": [...]}`). A malformed entry is
    /// reported with its id and the field at fault.
    static func decode(_ data: Data) throws -> [CatalogProvider] {
        struct Entry: Decodable {
            enum IDKey: String, CodingKey { case id }
            let id: String?
            let result: Result<CatalogProvider, DecodingError>

            init(from decoder: any Decoder) throws {
                id = try? decoder.container(keyedBy: IDKey.self).decode(String.self, forKey: .id)
                do {
                    result = .success(try CatalogProvider(from: decoder))
                } catch let error as DecodingError {
                    result = .failure(error)
                }
            }
        }
        struct File: Decodable {
            var version: Int
            var providers: [Entry]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw ConfigurationError("provider catalog is not valid JSON of the form {\"version\": 1, \"providers\": [...]}")
        }
        guard file.version == 1 else { throw ConfigurationError("provider catalog version \(file.version) is not supported") }
        return try file.providers.enumerated().map { index, entry in
            switch entry.result {
            case .success(let provider): return provider
            case .failure(let error): throw CatalogViolation(provider: entry.id ?? "entry #\(index + 1)", rule: describe(error))
            }
        }
    }

    /// The shipped catalog file.
    static func loadShipped() throws -> [CatalogProvider] {
        guard let url = Bundle.module.url(forResource: "providers", withExtension: "json", subdirectory: "Resources") else {
            throw ConfigurationError("provider catalog Resources/providers.json is missing from the build")
        }
        return try decode(Data(contentsOf: url))
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.dropFirst(2).map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let full = path(context.codingPath + [key])
            return "`\(full.isEmpty ? key.stringValue : full)` is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "`\(path(context.codingPath))` has the wrong type"
        case .dataCorrupted(let context):
            return context.debugDescription
        @unknown default:
            return "is malformed"
        }
    }
}
