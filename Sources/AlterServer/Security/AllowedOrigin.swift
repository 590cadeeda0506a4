import Foundation
/// A web origin in canonical form, `scheme://host[:port]`, that the Connect UI may post
/// results to and that a `return_url` must live on.
///
/// The rule is strict on purpose: the value must already *be* its canonical form, so what
/// an app writes is exactly what the browser will compare against `event.origin`.
struct AllowedOrigin: Sendable, Equatable, CustomStringConvertible {
    let value: String
    let scheme: String
    let host: String

    var description: String { value }

    struct Violation: Error, Equatable, CustomStringConvertible {
        let rule: String
        var description: String { rule }
    }

    init(parsing raw: String) throws(Violation) {
        func fail(_ rule: String) -> Violation { Violation(rule: rule) }
        guard !raw.isEmpty else { throw fail("must not be empty") }
        guard raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw fail("must not contain whitespace or control characters")
        }
        guard raw.unicodeScalars.allSatisfy(\.isASCII) else {
            throw fail("must be ASCII: write international host names in punycode (xn--…)")
        }
        guard !raw.contains("*") else { throw fail("wildcards are not allowed: list one exact origin") }
        guard let separator = raw.range(of: "://") else {
            throw fail("must start with a scheme: https://host[:port]")
        }
        let scheme = String(raw[..<separator.lowerBound])
        guard scheme == scheme.lowercased() else { throw fail("the scheme must be lower case") }
        guard scheme == "http" || scheme == "https" else { throw fail("the scheme must be http or https") }
        let authority = String(raw[separator.upperBound...])
        if authority.contains("@") { throw fail("must not contain user information (user@host)") }
        if authority.contains("\\") { throw fail("must not contain a backslash") }
        if authority.hasSuffix("/") { throw fail("must not end with a slash") }
        if authority.contains("/") { throw fail("must not contain a path") }
        if authority.contains("?") { throw fail("must not contain a query") }
        if authority.contains("#") { throw fail("must not contain a fragment") }
        guard authority == authority.lowercased() else { throw fail("the host must be lower case") }

        let (host, port) = try Self.splitHostAndPort(authority)
        try Self.checkHost(host)
        if let port {
            guard let number = Int(port), port.first != "0", (1...65535).contains(number) else {
                throw fail("the port must be a number from 1 to 65535")
            }
            if (scheme == "http" && number == 80) || (scheme == "https" && number == 443) {
                throw fail("leave out the default port \(number)")
            }
        }
        if scheme == "http" && !Self.isLoopback(host) {
            throw fail("plain http is only allowed for localhost and loopback addresses; use https")
        }
        self.value = raw
        self.scheme = scheme
        self.host = host
    }

    private static func splitHostAndPort(_ authority: String) throws(Violation) -> (String, String?) {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Violation(rule: "the IPv6 address is not closed with ]") }
            let host = String(authority[...close])
            let rest = authority[authority.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.first == ":" else { throw Violation(rule: "unexpected characters after the IPv6 address") }
            return (host, String(rest.dropFirst()))
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (authority, nil)
        case 2: return (String(parts[0]), String(parts[1]))
        default: throw Violation(rule: "the host is not a valid host name or IP address")
        }
    }

    /// A host name of lower-case LDH labels, or an IP address written exactly as a browser
    /// serializes it: `https://2130706433`, `https://0x7f.1` and `https://1.2.3` mean
    /// 127.0.0.1 and 1.2.0.3 to a browser (WHATWG URL), `[0:0::1]` means `[::1]`.
    private static func checkHost(_ host: String) throws(Violation) {
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), let address = NetworkAddress(literal: host), !address.isIPv4 else {
                throw Violation(rule: "the host is not a valid host name or IP address")
            }
            // ::ffff:a.b.c.d and ::a.b.c.d reach an IPv4 host: name that host instead.
            if address.embeddedIPv4 != nil, address.bytes[0..<10].allSatisfy({ $0 == 0 }) {
                throw Violation(rule: "the host is an IPv4 address in IPv6 form: write the IPv4 address itself")
            }
            guard host == "[\(address)]" else {
                throw Violation(rule: "the IPv6 address must be in its canonical form [\(address)] (RFC 5952)")
            }
            return
        }
        guard !host.isEmpty, host.count <= 253, !host.hasSuffix(".") else { throw Violation(rule: "the host is not a valid host name or IP address") }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
        }
        guard valid else { throw Violation(rule: "the host is not a valid host name or IP address") }
        // WHATWG URL: a host whose last label is a number (decimal or 0x…) is an IPv4 address.
        let last = labels.last!
        if last.allSatisfy(\.isNumber) || (last.hasPrefix("0x") && last.dropFirst(2).allSatisfy(\.isHexDigit)) {
            guard let address = NetworkAddress(literal: host), address.description == host else {
                throw Violation(rule: "a numeric host must be a dotted-decimal IPv4 address such as 127.0.0.1")
            }
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasSuffix(".localhost") || NetworkAddress(literal: host)?.isLoopback == true
    }
}

/// A `return_url` that provably lands on the session's own origin (no open redirect).
struct ReturnURL: Sendable, Equatable {
    let value: String

    struct Violation: Error, Equatable, CustomStringConvertible {
        let rule: String
        var description: String { rule }
    }

    init(validating raw: String, for origin: AllowedOrigin) throws(Violation) {
        guard raw.count <= 2048 else { throw Violation(rule: "must be at most 2048 characters") }
        guard raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0.isASCII }) else {
            throw Violation(rule: "must not contain whitespace, control or non-ASCII characters (percent-encode them)")
        }
        guard !raw.contains("\\") else { throw Violation(rule: "must not contain a backslash") }
        // Compare by prefix against the canonical origin, then require a delimiter, so
        // `https://a.com.evil.com`, `https://a.com@evil.com` and `https://a.com:1` all fail.
        guard raw.hasPrefix(origin.value) else {
            throw Violation(rule: "must be an absolute URL on the session's origin \(origin.value)")
        }
        let rest = raw.dropFirst(origin.value.count)
        guard rest.isEmpty || ["/", "?", "#"].contains(rest.first!) else {
            throw Violation(rule: "must be an absolute URL on the session's origin \(origin.value)")
        }
        guard !rest.hasPrefix("//") else { throw Violation(rule: "the path must not start with //") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%")
        guard rest.allSatisfy({ allowed.contains($0) }) else { throw Violation(rule: "contains characters that must be percent-encoded") }
        self.value = raw
    }
}
