import Foundation
import NIOConcurrencyHelpers
import NIOPosix

/// Turns a host name into the addresses an outbound call may connect to, and keeps each
/// answer for `ttl`.
///
/// The system resolver (`getaddrinfo`) reports no TTL, so answers are kept for a bounded
/// time instead: `HostResolver.defaultTTL` (30 s), short enough that a provider moving its
/// address is followed within half a minute, long enough that a busy proxy resolves a host
/// about once per 30 s instead of on every call. Failed lookups are not kept.
struct HostResolver: Sendable {
    static let defaultTTL: Duration = .seconds(30)

    /// The lookup itself: the host's addresses, or an empty list when it has none.
    let lookup: @Sendable (String) async throws -> [NetworkAddress]
    var ttl: Duration = HostResolver.defaultTTL

    /// `getaddrinfo` on NIO's blocking-I/O thread pool (it blocks its thread).
    static let system = HostResolver { host in
        try await NIOThreadPool.singleton.runIfActive { systemLookup(host) }
    }

    /// All A and AAAA answers of the system resolver, in its order.
    static func systemLookup(_ host: String) -> [NetworkAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [NetworkAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var bytes: [UInt8]?
            if info.pointee.ai_family == AF_INET, let address = info.pointee.ai_addr {
                bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) } }
            } else if info.pointee.ai_family == AF_INET6, let address = info.pointee.ai_addr {
                bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) } }
            }
            if let bytes, let address = NetworkAddress(bytes: bytes), !addresses.contains(address) { addresses.append(address) }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}

/// The resolver's answers, kept until their TTL runs out; bounded in size.
final class ResolutionCache: Sendable {
    static let capacity = 1024

    private let resolver: HostResolver
    private let entries = NIOLockedValueBox<[String: (addresses: [NetworkAddress], expires: ContinuousClock.Instant)]>([:])

    init(resolver: HostResolver) { self.resolver = resolver }

    /// The addresses of `host` (lower-cased name), from the cache while its answer is fresh.
    func addresses(of host: String) async throws -> [NetworkAddress] {
        let now = ContinuousClock.now
        if let cached = entries.withLockedValue({ $0[host] }), cached.expires > now { return cached.addresses }
        let addresses = try await resolver.lookup(host)
        guard !addresses.isEmpty else { return [] }
        entries.withLockedValue { entries in
            if entries.count >= Self.capacity { entries = entries.filter { $0.value.expires > now } }
            if entries.count >= Self.capacity { entries.removeAll() }
            entries[host] = (addresses, now + resolver.ttl)
        }
        return addresses
    }
}
