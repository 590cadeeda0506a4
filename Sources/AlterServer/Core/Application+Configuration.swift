import Fluent
import Foundation
import Vapor

extension Application {
    private enum ConfigurationKey: StorageKey { typealias Value = AlterConfiguration }
    private enum ClockKey: StorageKey { typealias Value = VaultClock }

    /// The configuration this server was started with (set by `configure(_:with:)`).
    public var alterConfiguration: AlterConfiguration {
        get { requiredService(ConfigurationKey.self) }
        set { storage[ConfigurationKey.self] = newValue }
    }

    public var clock: VaultClock {
        get { storage[ClockKey.self] ?? .system }
        set { storage[ClockKey.self] = newValue }
    }
}
