import Foundation

/// An address or a CIDR range (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`). An IPv4
/// range never matches an IPv6 address and the reverse, except IPv4-mapped IPv6
/// (`::ffff:a.b.c.d`), which is read as the IPv4 address it carries.
struct AddressRange: Sendable, Equatable {
    let network: [UInt8]
    let prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = NetworkAddress(literal: String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let parsed = Int(parts[1]), parsed <= bits else { return nil }
            length = parsed
        }
        self.network = Self.masked(address.bytes, length)
        self.prefixLength = length
    }

    func contains(_ address: NetworkAddress) -> Bool {
        let bytes = Self.unmapped(address.bytes)
        guard bytes.count == network.count else { return false }
        return Self.masked(bytes, prefixLength) == network
    }

    private static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }

    private static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = max(0, min(8, length - index * 8))
            return keep == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
    }
}
