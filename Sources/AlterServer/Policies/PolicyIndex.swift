import FluentKit
import Foundation
import NIOConcurrencyHelpers
import Vapor

/// Each app's rules, read from the database at most once per `lifetime` per instance and
/// already parsed, so the check on the hot path costs no query (and an app with no rules
/// costs one dictionary lookup). A rule written through this instance is seen at once; one
/// written through another instance within `lifetime` (as a revoked key is, `AppKeyCache`).
final class PolicyIndex: Sendable {
    /// A rule as the check reads it; `condition` is the reason it does not read, if so. A stored
    /// rule has its `id`; a grant's own terms (`PolicyCheck.terms`) have none.
    struct Loaded: Sendable {
        let id: UUID?
        let scope: PolicyRule.Scope
        let target: String?
        let kind: String
        let condition: Result<PolicyCondition, PolicyCondition.Invalid>

        /// How a refusal names it.
        var name: String { id.map { "Policy rule " + $0.lowercasedString } ?? "The grant's \(kind) terms" }
    }

    private struct Entry {
        let rules: [Loaded]
        let loadedAt: ContinuousClock.Instant
    }

    static let lifetime: Duration = .seconds(AppKeyCache.lifetime)
    private let entries = NIOLockedValueBox<[UUID: Entry]>([:])

    func rules(of appID: UUID, on db: any Database) async throws -> [Loaded] {
        let now = ContinuousClock.now
        if let entry = entries.withLockedValue({ $0[appID] }), now - entry.loadedAt < Self.lifetime { return entry.rules }
        let rows = try await PolicyRule.query(on: db).filter(\.$app.$id == appID).sort(\.$createdAt).all()
        let rules = try rows.map { row in
            Loaded(
                id: try row.requireID(), scope: row.scope, target: row.target, kind: row.kind,
                condition: Result { () throws(PolicyCondition.Invalid) in try PolicyCondition(kind: row.kind, settings: row.settings) })
        }
        entries.withLockedValue { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[appID] = Entry(rules: rules, loadedAt: now)
        }
        return rules
    }

    /// Forgets an app's rules (they were changed through this instance).
    func forget(_ appID: UUID) {
        _ = entries.withLockedValue { $0.removeValue(forKey: appID) }
    }
}

extension Application {
    private enum PolicyIndexKey: StorageKey, LockKey { typealias Value = PolicyIndex }

    /// The parsed rules of each app (one per application, made on first use).
    var policyIndex: PolicyIndex {
        if let index = storage[PolicyIndexKey.self] { return index }
        return locks.lock(for: PolicyIndexKey.self).withLock {
            if let index = storage[PolicyIndexKey.self] { return index }
            let index = PolicyIndex()
            storage[PolicyIndexKey.self] = index
            return index
        }
    }
}
