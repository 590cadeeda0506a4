import Vapor

extension Application {
    private enum RefreshGateKey: StorageKey { typealias Value = RefreshGate }

    /// The in-process half of one-refresh-at-a-time (set by `configure(_:with:)`).
    var refreshGate: RefreshGate {
        get { requiredService(RefreshGateKey.self) }
        set { storage[RefreshGateKey.self] = newValue }
    }
}
