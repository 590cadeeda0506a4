import Foundation

/// An IPv4 or IPv6 address, from a literal or from a resolver's bytes, and the one place
/// that says which addresses are loopback, private or otherwise not the public internet.
/// `AllowedOrigin`, `CustomProviderInput` and `NetworkPolicy` all ask it.
struct NetworkAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, network order.
    let bytes: [UInt8]

    init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// A strict literal: a dotted quad of decimal octets without leading zeros (`127.0.0.1`),
    /// or an IPv6 address with or without brackets (`::1`, `[::1]`, `::ffff:1.2.3.4`).
    init?(literal: String) {
        let bare = literal.hasPrefix("[") && literal.hasSuffix("]") ? String(literal.dropFirst().dropLast()) : literal
        // A byte scan: `String.contains(String)` goes through NSString's search (issue 14).
        if bare.utf8.contains(UInt8(ascii: ":")) {
            guard let bytes = Self.parseIPv6(bare) else { return nil }
            self.bytes = bytes
            return
        }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit), part == "0" || part.first != "0",
                let octet = UInt8(part)
            else { return nil }
            bytes.append(octet)
        }
        self.bytes = bytes
    }

    /// The address a URL host (or `getaddrinfo`, via `inet_aton`) really means: besides the
    /// strict forms, IPv4 written with one to four parts, each decimal, octal (`0177`) or hex
    /// (`0x7f`), so `2130706433`, `0x7f000001`, `127.1` and `0177.0.0.1` are all 127.0.0.1
    /// (WHATWG URL "IPv4 parser"). Nil for a host name.
    init?(urlHost host: String) {
        if let strict = NetworkAddress(literal: host) {
            self = strict
            return
        }
        var parts = host.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        if parts.count > 1, parts.last?.isEmpty == true { parts.removeLast() }
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard let number = Self.ipv4Number(part) else { return nil }
            numbers.append(number)
        }
        guard numbers.dropLast().allSatisfy({ $0 <= 255 }) else { return nil }
        let last = numbers.last!
        guard last < (UInt64(1) << (8 * (5 - UInt64(numbers.count)))) else { return nil }
        var value = last
        for (index, number) in numbers.dropLast().enumerated() { value += number << (8 * (3 - UInt64(index))) }
        self.bytes = [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    var isIPv4: Bool { bytes.count == 4 }

    /// The form a browser serializes the address in: dotted decimal, or RFC 5952 IPv6
    /// (lower-case hex, no leading zeros, the first longest run of two or more zero groups
    /// as `::`), without brackets.
    var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]) }
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > best.length { best = (index, end - index) }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.length >= 2 else { return hex.joined(separator: ":") }
        return hex[..<best.start].joined(separator: ":") + "::" + hex[(best.start + best.length)...].joined(separator: ":")
    }

    /// The IPv4 address an IPv6 address carries and that a translator or the host's own
    /// stack will really reach: IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
    /// NAT64 `64:ff9b::a.b.c.d` (RFC 6052) and 6to4 `2002:aabb:ccdd::` (RFC 3056).
    var embeddedIPv4: NetworkAddress? {
        guard !isIPv4 else { return nil }
        let zeros = { (range: Range<Int>) in self.bytes[range].allSatisfy { $0 == 0 } }
        if zeros(0..<10) && bytes[10] == 0xFF && bytes[11] == 0xFF { return NetworkAddress(bytes: Array(bytes[12..<16])) }
        if zeros(0..<12) && bytes[12] != 0 { return NetworkAddress(bytes: Array(bytes[12..<16])) }  // not ::1
        if bytes[0..<4] == [0x00, 0x64, 0xFF, 0x9B] && zeros(4..<12) { return NetworkAddress(bytes: Array(bytes[12..<16])) }
        if bytes[0] == 0x20 && bytes[1] == 0x02 { return NetworkAddress(bytes: Array(bytes[2..<6])) }
        return nil
    }

    /// 127.0.0.0/8 and ::1, also when carried inside an IPv6 address.
    var isLoopback: Bool {
        if isIPv4 { return bytes[0] == 127 }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return embeddedIPv4?.isLoopback ?? false
    }

    /// Anything that is not a public unicast address on the internet: loopback, private
    /// (RFC 1918, ULA), shared (CGNAT), link-local (cloud metadata), unspecified,
    /// benchmarking, documentation, multicast and reserved ranges, and any IPv6 address
    /// whose embedded IPv4 address is one of them.
    var isPrivateOrReserved: Bool {
        if isIPv4 { return Self.isReservedIPv4(bytes) }
        // ::, ::1 and IPv4-compatible ::a.b.c.d (deprecated, RFC 4291 §2.5.5.1): never public.
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return true }
        if let embedded = embeddedIPv4 { return embedded.isPrivateOrReserved }
        let (a, b) = (bytes[0], bytes[1])
        return (a & 0xFE) == 0xFC  // fc00::/7 unique local
            || (a == 0xFE && (b & 0xC0) == 0x80)  // fe80::/10 link-local
            || (a == 0xFE && (b & 0xC0) == 0xC0)  // fec0::/10 site-local (deprecated)
            || a == 0xFF  // multicast
            || bytes[0..<8] == [0x01, 0x00, 0, 0, 0, 0, 0, 0]  // 100::/64 discard-only
            || bytes[0..<6] == [0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01]  // 64:ff9b:1::/48 local-use NAT64
            || bytes[0..<4] == [0x20, 0x01, 0x0D, 0xB8]  // 2001:db8::/32 documentation
            || bytes[0..<4] == [0x20, 0x01, 0x00, 0x00]  // 2001::/32 Teredo: the IPv4 inside is obfuscated
    }

    private static func isReservedIPv4(_ address: [UInt8]) -> Bool {
        let (a, b, c) = (address[0], address[1], address[2])
        return a == 0 || a == 10 || a == 127 || a >= 224  // this network, private, loopback, multicast and 240/4
            || (a == 100 && (64...127).contains(b))  // shared address space (CGNAT)
            || (a == 169 && b == 254)  // link-local, cloud metadata
            || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
            || (a == 192 && b == 0 && (c == 0 || c == 2))  // IETF protocol assignments, TEST-NET-1
            || (a == 192 && b == 88 && c == 99)  // 6to4 relay anycast
            || (a == 198 && (b == 18 || b == 19))  // benchmarking
            || (a == 198 && b == 51 && c == 100) || (a == 203 && b == 0 && c == 113)  // TEST-NET-2, -3
    }

    private static func ipv4Number(_ part: Substring) -> UInt64? {
        guard !part.isEmpty, part.count <= 12 else { return nil }
        if part.hasPrefix("0x") {
            let digits = part.dropFirst(2)
            return digits.isEmpty ? 0 : UInt64(digits, radix: 16)
        }
        if part.count > 1 && part.hasPrefix("0") { return UInt64(part.dropFirst(), radix: 8) }
        return part.allSatisfy(\.isASCIIDigit) ? UInt64(part) : nil
    }

    private static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.count <= 45, text.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: address) { Array($0) }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
