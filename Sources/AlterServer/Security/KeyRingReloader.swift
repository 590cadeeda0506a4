import Crypto
import Foundation
import NIOConcurrencyHelpers

/// Lets a running server open values sealed with a key it did not have at start: with the
/// key file, `alter keys rotate-encryption` adds the new key to the file and re-seals
/// everything while servers serve, and each server then meets the new key id (security
/// review F7). On an unknown key id the sealer reloads the ring, at most once per
/// `minimumInterval`, so a forged key id cannot turn into a file read per request.
/// Once reloaded, new values are sealed with the ring's new active key too.
final class KeyRingReloader: Sendable {
    static let minimumInterval: Duration = .seconds(1)

    private let load: @Sendable () throws -> [Sealer.Key]
    private let state = NIOLockedValueBox<(ring: [String: SymmetricKey], active: Sealer.Key?, lastAttempt: ContinuousClock.Instant?)>(([:], nil, nil))

    init(load: @escaping @Sendable () throws -> [Sealer.Key]) { self.load = load }

    /// The key with `id`, reloading the ring if it is unknown (rate-limited); nil if it is not there either.
    func key(_ id: String) -> SymmetricKey? {
        state.withLockedValue { state in
            if let key = state.ring[id] { return key }
            let now = ContinuousClock.now
            if let last = state.lastAttempt, now - last < Self.minimumInterval { return nil }
            state.lastAttempt = now
            guard let keys = try? load(), let first = keys.first else { return nil }
            state.ring = Dictionary(keys.map { ($0.id, $0.key) }, uniquingKeysWith: { first, _ in first })
            state.active = first
            return state.ring[id]
        }
    }

    /// The active key of the last reload, if there was one.
    var reloadedActiveKey: Sealer.Key? { state.withLockedValue { $0.active } }
}
