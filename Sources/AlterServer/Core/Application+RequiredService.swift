import Vapor

extension Application {
    /// A service `configure(_:with:)` put in storage. Reading one before configuration is a
    /// programming error, not a runtime condition, hence the trap.
    func requiredService<Key: StorageKey>(_ key: Key.Type) -> Key.Value {
        guard let value = storage[key] else { fatalError("\(Key.self) is read before configure(_:with:) has run") }
        return value
    }
}
