import Foundation
import NIOHTTP1

/// A provider's answer to a proxied request: status, headers and body as the provider sent
/// them (minus `Set-Cookie`, hop-by-hop and `Alter-*` headers, which the vault removes).
///
/// ```swift
/// let response = try await vault.request(.GET, url, grantID: grantID)
/// if response.status == 200 {
///     let events = try response.json(Events.self)
/// } else {
///     logger.warning("provider said \(response.status): \(response.text)")
/// }
/// ```
///
/// The description shows the status and size only, never the body.
public struct ProxyResponse: Sendable, Hashable, CustomStringConvertible {
    /// The provider's HTTP status.
    public let status: Int
    /// The provider's headers, by lower-cased name; a repeated header has several values.
    public let headers: [String: [String]]
    /// The provider's body.
    public let body: Data
    /// The grant the vault used (`Alter-Grant-Id`), useful with the `userToken` variant.
    public let grantID: String?

    /// Creates a response; the SDK builds these from the vault's answers.
    ///
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - headers: Header values by lower-cased name.
    ///   - body: The body.
    ///   - grantID: The grant used.
    public init(status: Int, headers: [String: [String]], body: Data, grantID: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.grantID = grantID
    }

    /// - Parameter bodyDecoded: the client inflated a `gzip`/`deflate` body, so its
    ///   `Content-Encoding` no longer describes `body` and is left out.
    init(_ answer: VaultAnswer, bodyDecoded: Bool) {
        var headers: [String: [String]] = [:]
        for (name, value) in answer.headers {
            let lower = name.lowercased()
            if bodyDecoded, lower == "content-encoding", ["gzip", "x-gzip", "deflate"].contains(value.lowercased().trimmingCharacters(in: .whitespaces)) {
                continue
            }
            headers[lower, default: []].append(value)
        }
        self.init(status: answer.status, headers: headers, body: answer.body, grantID: answer.headers.first(name: "Alter-Grant-Id"))
    }

    /// True for a 2xx status.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body as UTF-8 text (invalid bytes become U+FFFD).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first value of a header, by case-insensitive name.
    ///
    /// - Parameters:
    ///   - name: The header name, e.g. `Content-Type`.
    /// - Returns: The value, or `nil` when the provider did not send it.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]?.first
    }

    /// Decodes the body as JSON.
    ///
    /// ```swift
    /// struct Me: Decodable { let email: String }
    /// let me = try response.json(Me.self)
    /// ```
    ///
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - decoder: The decoder, for your own key and date strategies.
    /// - Throws: `DecodingError` when the body does not match `type`.
    /// - Returns: The decoded value.
    public func json<T: Decodable>(_ type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(type, from: body)
    }

    /// `ProxyResponse(status: 200, 1234 bytes)`.
    public var description: String { "ProxyResponse(status: \(status), \(body.count) bytes)" }
}
