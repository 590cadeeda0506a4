import Foundation

/// What the vault adds to one upstream call: the credential's headers (replacing any of the
/// same name) and query parameters (replacing any of the same name in the URL). An OAuth
/// grant adds one header; a managed secret adds what its template says.
struct CredentialInjection: Sendable {
    var headers: [(name: String, value: String)]
    var queryItems: [(name: String, value: String)] = []

    static func header(_ header: (name: String, value: String)) -> CredentialInjection {
        .init(headers: [header])
    }

    /// The target's URL with the query parameters set, each value percent-encoded (RFC 3986
    /// unreserved characters only, so `+`, `/` and `=` of a key survive).
    func url(for target: ProxyTarget) -> String {
        guard !queryItems.isEmpty, var components = URLComponents(string: target.url) else { return target.url }
        let names = Set(queryItems.map(\.name))
        var items = (components.percentEncodedQueryItems ?? []).filter { !names.contains($0.name) }
        for (name, value) in queryItems {
            items.append(URLQueryItem(name: name, value: value.addingPercentEncoding(withAllowedCharacters: Self.unreserved)))
        }
        components.percentEncodedQueryItems = items
        return components.string ?? target.url
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
