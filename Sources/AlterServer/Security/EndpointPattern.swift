import Foundation

/// An allowed endpoint: an http(s) URL without query or fragment in which `*` matches any
/// run of characters, e.g. `https://api.example.com/v1/users/*`. A call matches when its URL
/// without the query (scheme and host lower-cased) matches the whole pattern.
struct EndpointPattern: Sendable, Equatable {
    let pattern: String

    init?(_ text: String) {
        guard text.count <= 2048, !text.contains("?"), !text.contains("#"),
            let components = URLComponents(string: text.replacingOccurrences(of: "*", with: "x")),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http", components.host?.isEmpty == false
        else { return nil }
        let schemeEnd = text.range(of: "://")!.upperBound
        let rest = text[schemeEnd...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        pattern = text[..<hostEnd].lowercased() + text[hostEnd...]
    }

    /// `url` as the pattern sees it: query and fragment dropped, scheme and host lower-cased.
    static func comparable(_ url: String) -> String? {
        guard var components = URLComponents(string: url), components.host != nil else { return nil }
        components.query = nil
        components.fragment = nil
        components.scheme = components.scheme?.lowercased()
        components.host = components.host?.lowercased()
        return components.string
    }

    func matches(_ url: String) -> Bool {
        guard let subject = Self.comparable(url) else { return false }
        return Self.glob(Array(pattern.utf8), Array(subject.utf8))
    }

    /// `*` matches any run of bytes; iterative with one backtrack point (linear in practice).
    private static func glob(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        var p = 0, t = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p; mark = t; p += 1
            } else if p < pattern.count, pattern[p] == text[t] {
                p += 1; t += 1
            } else if star >= 0 {
                p = star + 1; mark += 1; t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
