import FluentKit
import Foundation
import NIOConcurrencyHelpers
import SQLKit

extension ProviderCatalog {
    /// One provider as an app sees it: a shipped entry, else that app's custom provider.
    /// Cheaper than `forApp` on hot paths (the proxy, refresh): no query for shipped
    /// providers, and for a custom one a single-row read whose checked entry is memoized by
    /// its stored text, so a call decodes and checks no JSON and copies no catalog
    /// (`forApp` builds the app's whole catalog: the custom-provider grant cost 30% more).
    /// The row is still read on every call, so an edited or removed provider counts at once,
    /// on every instance.
    func provider(_ id: String, forApp appID: UUID, on db: any Database) async throws -> CatalogProvider? {
        if let shipped = self[id] { return shipped }
        guard let stored = try await CustomProvider.definition(of: id, appID: appID, on: db) else { return nil }
        return entry(stored)
    }

    /// The checked entry of an app's stored custom provider, memoized by its stored text.
    func entry(_ stored: StoredCustomProvider) -> CatalogProvider? {
        CustomProviderEntries.shared.entry(stored.definition, allowsPrivateNetwork: stored.allowsPrivateNetwork, shipped: self)
    }
}

/// A custom provider's stored definition and private-network switch.
struct StoredCustomProvider: Sendable, Equatable {
    let definition: String
    let allowsPrivateNetwork: Bool
}

/// What a read of a grant found of its app's custom provider (the grant read's `customProviderAtRead`).
enum CustomProviderLookup: Sendable, Equatable {
    case notRead
    case absent
    case found(StoredCustomProvider)
}

extension CustomProvider {
    private static let definitionStatement = SerializedStatement { sql in
        sql.select().columns("definition", "allows_private_network").from(schema)
            .where("app_id", .equal, SQLBind(UUID())).where("provider", .equal, SQLBind("")).limit(1).query
    }

    /// The stored definition of one app's custom provider, read without FluentKit's model decoding.
    static func definition(of provider: String, appID: UUID, on db: any Database) async throws -> StoredCustomProvider? {
        guard let sql = db as? any SQLDatabase else {
            let row = try await CustomProvider.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == provider).first()
            return row.map { StoredCustomProvider(definition: $0.definition, allowsPrivateNetwork: $0.allowsPrivateNetwork) }
        }
        guard let row = try await definitionStatement.rows(on: sql, binds: [appID, provider]).first else { return nil }
        return StoredCustomProvider(
            definition: try row.decode(column: "definition", as: String.self), allowsPrivateNetwork: try row.decode(column: "allows_private_network", as: Bool.self))
    }
}

/// Checked custom-provider entries by their stored text: decoding and `CatalogRules` are a
/// pure function of it, so an entry may be reused for as long as a row holds the same text.
/// Bounded: emptied when full (an app rarely has more than a handful of custom providers).
final class CustomProviderEntries: Sendable {
    static let shared = CustomProviderEntries()
    static let capacity = 512

    private struct Key: Hashable {
        let definition: String
        let allowsPrivateNetwork: Bool
    }

    private let entries = NIOLockedValueBox<[Key: CatalogProvider?]>([:])

    /// The entry as `ProviderCatalog.forApp` would serve it, or nil where it would leave the
    /// row out (undecodable, failing the rules, or shadowed by a shipped provider).
    func entry(_ definition: String, allowsPrivateNetwork: Bool, shipped: ProviderCatalog) -> CatalogProvider? {
        let key = Key(definition: definition, allowsPrivateNetwork: allowsPrivateNetwork)
        if let known = entries.withLockedValue({ $0[key] }) { return known }
        let row = CustomProvider()
        row.definition = definition
        row.allowsPrivateNetwork = allowsPrivateNetwork
        let checked = row.entry.flatMap { shipped.adding(custom: [$0]).catalog[$0.id] }
        entries.withLockedValue {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[key] = .some(checked)
        }
        return checked
    }
}
