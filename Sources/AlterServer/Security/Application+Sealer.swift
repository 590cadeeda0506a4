import Fluent
import Vapor

extension Application {
    private enum SealerKey: StorageKey { typealias Value = Sealer }

    /// Encrypts and decrypts secrets at rest (set by `configure(_:with:)`).
    var sealer: Sealer {
        get { requiredService(SealerKey.self) }
        set { storage[SealerKey.self] = newValue }
    }
}
