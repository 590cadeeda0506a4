import Fluent
import Vapor

extension Application {
    private enum SealerKey: StorageKey { typealias Value = Sealer }

    /// Encrypts and decrypts secrets at rest (set by `configure(_:with:)`).
    var sealer: Sealer {
        get {
            guard let value = storage[SealerKey.self] else { fatalError("configure(_:with:) has not run") }
            return value
        }
        set { storage[SealerKey.self] = newValue }
    }
}
