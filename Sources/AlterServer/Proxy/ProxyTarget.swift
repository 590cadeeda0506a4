import Foundation

/// The upstream URL of a proxied call, proven to be on one of the provider's API hosts.
///
/// The check compares the canonical `scheme://host[:port]` against the catalog's allow-list
/// (with `{variables}` filled from the grant and the app's provider settings), so a URL can
/// only reach where the provider's token is meant to go.
struct ProxyTarget: Sendable, Equatable {
    let url: String
    let scheme: String
    let host: String
    let port: Int?
    /// Which addresses the call may connect to: public unless the provider or secret is
    /// configured for private networks (set by `ProviderCall.target`).
    var addressRule: AddressRule = .publicOnly
    /// The address the host was checked at, which the call connects to (set by `ProviderCall.target`).
    var destination: CheckedDestination?

    struct Refused: Error, Equatable, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    init(url raw: String, allowedHosts: [String]) throws(Refused) {
        guard raw.count <= 8192 else { throw Refused(reason: "the URL is too long") }
        guard raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0.isASCII }) else {
            throw Refused(reason: "the URL contains whitespace, control or non-ASCII characters")
        }
        guard !raw.utf8.contains(UInt8(ascii: "\\")) else { throw Refused(reason: "the URL contains a backslash") }
        guard let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host?.lowercased(), !host.isEmpty
        else {
            throw Refused(reason: "the URL must be an absolute http(s) URL")
        }
        guard components.user == nil, components.password == nil else { throw Refused(reason: "the URL must not contain user information") }
        let origin = scheme + "://" + host + (components.port.map { ":\($0)" } ?? "")
        let allowed = allowedHosts.map { $0.lowercased() }
        guard allowed.contains(origin) || (components.port == Self.defaultPort(scheme) && allowed.contains(scheme + "://" + host)) else {
            throw Refused(reason: "\(origin) is not an API host of this provider")
        }
        var cleaned = components
        cleaned.fragment = nil
        guard let url = cleaned.string else { throw Refused(reason: "the URL is malformed") }
        self.url = url
        self.scheme = scheme
        self.host = host
        self.port = components.port
    }

    static func defaultPort(_ scheme: String) -> Int { scheme == "https" ? 443 : 80 }
}
