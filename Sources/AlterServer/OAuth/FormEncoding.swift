import Foundation

/// `application/x-www-form-urlencoded`, as RFC 6749 requires for token requests.
enum FormEncoding {
    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    /// Every `name=value` pair in order, repetitions kept; `+` is a space, then percent-decoding.
    static func pairs(_ encoded: String) -> [(name: String, value: String)] {
        func unescape(_ text: Substring) -> String {
            let spaced = text.replacingOccurrences(of: "+", with: " ")
            return spaced.removingPercentEncoding ?? spaced
        }
        return encoded.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }

    /// The pairs as a dictionary; a repeated name keeps its last value.
    static func decode(_ body: String) -> [String: String] {
        Dictionary(pairs(body), uniquingKeysWith: { _, last in last })
    }
}
