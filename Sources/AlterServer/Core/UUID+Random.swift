import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension UUID {
    /// A new random (version 4) id, for ids the vault makes per request: request ids and
    /// audit entries. Its 122 random bits come from the kernel's generator, as `UUID()`'s do,
    /// a kilobyte at a time: on Linux Foundation's `UUID()` opens, reads and closes
    /// `/dev/urandom` for every id, three system calls that were 2.4% of a proxied call's CPU
    /// for its two ids (issue 14). Not for secrets: `SecretToken` draws those itself, unbuffered.
    static func randomV4() -> UUID {
        var uuid = UUIDRandomPool.shared.next()
        uuid.6 = (uuid.6 & 0x0F) | 0x40  // version 4
        uuid.8 = (uuid.8 & 0x3F) | 0x80  // RFC 9562 variant
        return UUID(uuid: uuid)
    }
}

/// Random bytes, 64 ids' worth at a time, handed out 16 bytes per id.
private final class UUIDRandomPool: Sendable {
    static let shared = UUIDRandomPool()
    private static let size = 64 * 16
    private let state = NIOLockedValueBox<(bytes: [UInt8], used: Int)>(([UInt8](repeating: 0, count: size), size))

    func next() -> uuid_t {
        state.withLockedValue { state in
            if state.used == Self.size {
                state.bytes.withUnsafeMutableBytes { Self.fill($0) }
                state.used = 0
            }
            let offset = state.used
            state.used += 16
            return state.bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: uuid_t.self) }
        }
    }

    /// `/dev/urandom`, kept open: one `read` per refill. (Glibc's `getrandom` is not visible
    /// to Swift, and `SystemRandomNumberGenerator` makes a system call per 8 bytes.)
    private static let urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        precondition(urandom >= 0, "/dev/urandom cannot be opened: errno \(errno)")
        var filled = 0
        while filled < buffer.count {
            let count = read(urandom, buffer.baseAddress! + filled, buffer.count - filled)
            if count > 0 {
                filled += count
            } else {
                precondition(count < 0 && errno == EINTR, "/dev/urandom cannot be read: errno \(errno)")
            }
        }
    }
}
