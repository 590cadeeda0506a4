import Foundation
import NIOCore
import Vapor

/// The parameters of a query string or an `application/x-www-form-urlencoded` body, with
/// their repetitions kept: RFC 6749 §3.1 and §3.2 forbid sending a parameter twice, and a
/// decoder that silently keeps the last value would hide a client bug.
struct SandboxForm: Sendable, Equatable {
    private var values: [String: [String]]

    init(encoded: String?) {
        var values: [String: [String]] = [:]
        for pair in (encoded ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            values[name, default: []].append(parts.count > 1 ? Self.decode(parts[1]) : "")
        }
        self.values = values
    }

    /// The query string of a request.
    init(query request: Request) {
        self.init(encoded: request.url.query)
    }

    /// The body of a form POST; any other content type is a malformed request.
    static func body(of request: Request) throws(SandboxOAuthError) -> SandboxForm {
        guard request.headers.contentType?.type == "application", request.headers.contentType?.subType == "x-www-form-urlencoded" else {
            throw .invalidRequest("The body must be application/x-www-form-urlencoded.")
        }
        return SandboxForm(encoded: request.body.string)
    }

    /// The value of `name`; nil when absent or empty (RFC 6749 §3.1: a parameter sent
    /// without a value is treated as omitted).
    subscript(name: String) -> String? {
        guard let value = values[name]?.first, !value.isEmpty else { return nil }
        return value
    }

    /// The first of `names` that was sent more than once, if any.
    func repeated(among names: [String]) -> String? {
        names.first { (values[$0]?.count ?? 0) > 1 }
    }

    /// Every parameter sent more than once, sorted.
    var repeatedNames: [String] { values.filter { $0.value.count > 1 }.keys.sorted() }

    /// Form decoding of one name or value: `+` is a space, then percent-decoding.
    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// `application/x-www-form-urlencoded` serialization (only RFC 3986 unreserved characters
    /// stay as they are), for redirect URIs and Basic credentials.
    static func encode(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    static func percentEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
