import Fluent
import FluentKit
import Foundation

/// Setting up an app's providers, for `alter providers` and the portal: its OAuth client for
/// a provider (catalog or custom), and its own custom providers. The rules live here; each
/// surface words a `Refusal` for its own inputs (an option name, a form field).
struct ProviderSetup {
    let db: any Database
    let sealer: Sealer
    let appID: UUID

    enum Refusal: Error, Equatable {
        case unknownVariable(String, known: [String])
        case variableNotAllowed(String, value: String, rule: String)
        case variableMissing(String, rule: String)
        case clientIDRequired
        /// A new config needs a secret; an existing one keeps its secret when none is given.
        case clientSecretRequired
        case catalogID(String)
        case grantsUseProvider(Int)
        case noSuchCustomProvider(String)
        case custom(CatalogViolation)
    }

    struct ClientChange {
        var clientID: String
        /// nil: keep the stored secret (write-only: it is never read back).
        var clientSecret: String?
        var scopes: [String]
        /// Values to set; the others the provider takes are kept.
        var variables: [String: String]
        var enabled: Bool
        var moveRedirectURI = false
    }

    func config(for provider: String) async throws -> ProviderConfig? {
        try await ProviderConfig.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == provider).first()
    }

    /// Adds or updates the app's client for `provider`; returns it and whether it is new.
    func setClient(_ provider: CatalogProvider, _ change: ClientChange) async throws -> (ProviderConfig, created: Bool) {
        let clientID = change.clientID.trimmingCharacters(in: .whitespaces)
        guard !clientID.isEmpty, clientID.count <= 512 else { throw Refusal.clientIDRequired }
        let existing = try await config(for: provider.id)
        if let secret = change.clientSecret, secret.isEmpty || secret.count > 2048 { throw Refusal.clientSecretRequired }
        guard existing != nil || change.clientSecret != nil else { throw Refusal.clientSecretRequired }
        let variables = try Self.variables(change.variables, existing: existing?.variables ?? [:], provider: provider)
        let config = existing ?? ProviderConfig()
        if existing == nil {
            config.id = UUID()
            config.$app.id = appID
            config.provider = provider.id
        }
        config.clientID = clientID
        if let secret = change.clientSecret { try config.setClientSecret(secret, using: sealer) }
        config.scopes = change.scopes
        config.enabled = change.enabled
        config.variables = variables.isEmpty ? nil : variables
        if change.moveRedirectURI { config.legacyCallback = nil }
        try await config.save(on: db)
        return (config, existing == nil)
    }

    /// The provider's config variables: every one set, each value checked against its
    /// pattern and its place in the URLs before anything is stored.
    static func variables(_ changes: [String: String], existing: [String: String], provider: CatalogProvider) throws(Refusal) -> [String: String] {
        var values = existing.filter { provider.configVariables[$0.key] != nil }
        for (name, value) in changes.sorted(by: { $0.key < $1.key }) {
            guard let variable = provider.configVariables[name] else { throw .unknownVariable(name, known: provider.configVariables.keys.sorted()) }
            guard ProviderURLTemplate.accepts(value, for: name, of: provider) else {
                throw .variableNotAllowed(name, value: value, rule: variable.description ?? "must match \(variable.pattern ?? "")")
            }
            values[name] = value
        }
        if let missing = provider.configVariables.keys.sorted().first(where: { values[$0] == nil }) {
            throw .variableMissing(missing, rule: provider.configVariables[missing]?.description ?? "see docs/providers.md")
        }
        return values
    }

    /// A custom provider may not take a catalog provider's id.
    static func checkCustomID(_ id: String, catalog: ProviderCatalog) throws(Refusal) {
        guard catalog[id] == nil else { throw .catalogID(id) }
    }

    /// Adds (or replaces) the app's custom provider described by `input` and, when given,
    /// its discovery document (fetched by the caller with `ProviderDiscovery`).
    func addCustom(_ input: CustomProviderInput, discovered: ProviderDiscovery.Metadata?, catalog: ProviderCatalog) async throws -> (CatalogProvider, replaced: Bool) {
        try Self.checkCustomID(input.id, catalog: catalog)
        let entry: CatalogProvider
        do { entry = try input.entry(discovered: discovered) } catch { throw Refusal.custom(error) }
        let existing = try await CustomProvider.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == input.id).first()
        let row = existing ?? CustomProvider()
        row.$app.id = appID
        try row.store(entry)
        try await row.save(on: db)
        return (entry, existing != nil)
    }
}
