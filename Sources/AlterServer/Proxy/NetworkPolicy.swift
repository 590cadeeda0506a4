import Foundation

/// Refuses upstream hosts that resolve to loopback, private, link-local or cloud-metadata
/// addresses (SSRF), unless the provider is explicitly allowed there (the sandbox, tests).
enum NetworkPolicy {
    static func isPublic(host: String, port: Int) -> Bool {
        let addresses = resolve(host: host, port: port)
        return !addresses.isEmpty && addresses.allSatisfy { !isInternal($0) }
    }

    /// All addresses the host resolves to, as byte arrays (4 for IPv4, 16 for IPv6).
    static func resolve(host: String, port: Int) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        guard getaddrinfo(bare, String(port), &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if info.pointee.ai_family == AF_INET, let address = info.pointee.ai_addr {
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    addresses.append(withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) })
                }
            } else if info.pointee.ai_family == AF_INET6, let address = info.pointee.ai_addr {
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    addresses.append(withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) })
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// Bytes of a resolved address (4 or 16); anything else counts as internal.
    static func isInternal(_ address: [UInt8]) -> Bool {
        NetworkAddress(bytes: address)?.isPrivateOrReserved ?? true
    }
}
