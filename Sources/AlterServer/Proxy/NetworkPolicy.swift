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

    static func isInternal(_ address: [UInt8]) -> Bool {
        if address.count == 4 {
            let (a, b) = (address[0], address[1])
            return a == 0 || a == 10 || a == 127 || (a == 100 && (64...127).contains(b)) || (a == 169 && b == 254)
                || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168) || (a == 198 && (b == 18 || b == 19)) || a >= 224
        }
        guard address.count == 16 else { return true }
        if address[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
        if address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF {
            return isInternal(Array(address[12..<16]))  // IPv4-mapped
        }
        return (address[0] & 0xFE) == 0xFC || (address[0] == 0xFE && (address[1] & 0xC0) == 0x80) || address[0] == 0xFF
    }
}
