import Foundation
import NIOConcurrencyHelpers
import Vapor

/// Remembers recently verified app keys for a few seconds, so a busy backend's calls do not
/// each cost two database reads before any real work. The price is that a revoked key keeps
/// working on an instance for at most `lifetime` (documented in the README).
final class AppKeyCache: Sendable {
    struct Entry: Sendable {
        let authenticated: AuthenticatedApp
        let storedAt: Date
    }

    static let lifetime: TimeInterval = 5
    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    func lookup(_ keyHash: String, now: Date) -> AuthenticatedApp? {
        entries.withLockedValue { entries in
            guard let entry = entries[keyHash] else { return nil }
            guard now.timeIntervalSince(entry.storedAt) < Self.lifetime else {
                entries[keyHash] = nil
                return nil
            }
            return entry.authenticated
        }
    }

    func store(_ authenticated: AuthenticatedApp, for keyHash: String, now: Date) {
        entries.withLockedValue { entries in
            if entries.count > 10_000 { entries.removeAll() }  // bound memory under key spraying
            entries[keyHash] = Entry(authenticated: authenticated, storedAt: now)
        }
    }

    /// Forgets every entry (a key was revoked through this instance).
    func removeAll() {
        entries.withLockedValue { $0.removeAll() }
    }
}

extension Application {
    private enum AppKeyCacheKey: StorageKey { typealias Value = AppKeyCache }

    /// Recently verified app keys (set by `configure(_:with:)`).
    var appKeyCache: AppKeyCache {
        get { requiredService(AppKeyCacheKey.self) }
        set { storage[AppKeyCacheKey.self] = newValue }
    }
}
