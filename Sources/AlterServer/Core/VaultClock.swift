import Foundation

/// The clock the server reads time from; tests replace it to move time without sleeping.
public struct VaultClock: Sendable {
    public var now: @Sendable () -> Date
    public init(now: @escaping @Sendable () -> Date) { self.now = now }
    public static let system = VaultClock(now: { Date() })
}
