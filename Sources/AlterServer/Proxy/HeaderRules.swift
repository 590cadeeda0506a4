import NIOHTTP1

/// Which headers cross the proxy, in each direction.
enum HeaderRules {
    /// Never taken from the caller: credentials, routing, hop-by-hop, and our own.
    static func isDroppedFromCaller(_ name: String) -> Bool {
        let lower = name.lowercased()
        return ["authorization", "cookie", "host", "forwarded", "connection", "keep-alive", "te", "trailer", "transfer-encoding",
            "upgrade", "content-length", "expect"].contains(lower)
            || lower.hasPrefix("x-forwarded-") || lower.hasPrefix("proxy-") || lower.hasPrefix("alter-")
    }

    /// Never passed back from the provider: cookies for a site the caller is not, hop-by-hop,
    /// and `Date`, which the vault's server always sets (one `Date` per answer, RFC 9110 §6.6.1).
    static func isDroppedFromUpstream(_ name: String) -> Bool {
        let lower = name.lowercased()
        return ["set-cookie", "set-cookie2", "connection", "keep-alive", "transfer-encoding", "upgrade", "trailer", "content-length",
            "proxy-authenticate", "date"].contains(lower) || lower.hasPrefix("alter-")
    }

    struct Invalid: Error, CustomStringConvertible {
        let name: String
        var description: String { "header \(name) is not a valid header" }
    }

    /// The caller's headers that may be forwarded; CR/LF or bad names are refused outright.
    static func forwardable(_ headers: [String: String]) throws(Invalid) -> [(String, String)] {
        guard headers.count <= 100 else { throw Invalid(name: "(too many)") }
        var result: [(String, String)] = []
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            let tokenCharacters = "!#$%&'*+-.^_`|~"
            guard !name.isEmpty, name.count <= 256,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || tokenCharacters.contains($0)) })
            else { throw Invalid(name: String(name.prefix(40))) }
            guard value.count <= 8192, !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw Invalid(name: name)
            }
            if !isDroppedFromCaller(name) { result.append((name, value)) }
        }
        return result
    }
}
