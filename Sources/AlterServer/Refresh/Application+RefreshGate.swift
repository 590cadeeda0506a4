import Vapor

extension Application {
    private enum RefreshGateKey: StorageKey { typealias Value = RefreshGate }

    /// The in-process half of one-refresh-at-a-time (set by `configure(_:with:)`).
    var refreshGate: RefreshGate {
        get {
            guard let value = storage[RefreshGateKey.self] else { fatalError("configure(_:with:) has not run") }
            return value
        }
        set { storage[RefreshGateKey.self] = newValue }
    }
}
