import Foundation

/// Fills `{variable}` placeholders in catalog URLs with values an admin configured (or a
/// token or userinfo response supplied), each checked against the catalog's pattern and
/// against its place in the URL — never free-form.
enum ProviderURLTemplate {
    struct Unresolved: Error, CustomStringConvertible {
        let variable: String
        var description: String { "provider URL needs a valid value for {\(variable)}" }
    }

    /// Where a placeholder sits in a URL template.
    enum Position: Hashable, Sendable {
        /// The whole scheme + host (`{instance_url}/services/…`): the value is an origin.
        case origin
        /// Inside the host (`https://{shop}.myshopify.com`): the value is one DNS label.
        case host
        /// A path segment (`/{tenant}/oauth2/v2.0/token`).
        case path
        /// In the query or fragment: never allowed by the catalog rules.
        case query
    }

    struct Placeholder: Equatable, Sendable {
        let name: String
        let position: Position
    }

    /// The placeholders of a template, in order, with their positions.
    static func placeholders(in template: String) -> [Placeholder] {
        var result: [Placeholder] = []
        var position: Position = template.hasPrefix("{") ? .origin : .host
        var sawScheme = false
        var index = template.startIndex
        while index < template.endIndex {
            let character = template[index]
            if character == "{", let close = template[index...].firstIndex(of: "}") {
                result.append(Placeholder(name: String(template[template.index(after: index)..<close]), position: position))
                index = template.index(after: close)
                if position == .origin { position = .path }
                continue
            }
            switch character {
            case ":" where !sawScheme && template[index...].hasPrefix("://"):
                sawScheme = true
                index = template.index(index, offsetBy: 3)
                continue
            case "/" where position == .host && sawScheme: position = .path
            case "?", "#": position = .query
            default: break
            }
            index = template.index(after: index)
        }
        return result
    }

    static func resolve(_ template: String, provider: CatalogProvider, values: [String: String]) throws(Unresolved) -> String {
        // Most templates have no placeholder (every proxied call resolves its API hosts).
        guard template.utf8.contains(UInt8(ascii: "{")) else { return template }
        var result = ""
        var rest = template[...]
        let placeholders = placeholders(in: template)
        for placeholder in placeholders {
            guard let open = rest.range(of: "{" + placeholder.name + "}") else { throw Unresolved(variable: placeholder.name) }
            guard let value = values[placeholder.name],
                isValid(value, for: provider.variables[placeholder.name], at: placeholder.position, allowsHTTP: provider.allowsPrivateNetwork)
            else { throw Unresolved(variable: placeholder.name) }
            result += rest[..<open.lowerBound] + value
            rest = rest[open.upperBound...]
        }
        return result + rest
    }

    /// Checks a value for a provider's variable at every place the provider's URLs and API
    /// hosts use it: the one check for config input and for values read from responses.
    static func accepts(_ value: String, for name: String, of provider: CatalogProvider) -> Bool {
        let variable = provider.variables[name]
        let positions = Set(provider.urlTemplates.flatMap { placeholders(in: $0) }.filter { $0.name == name }.map(\.position))
        return isValid(value, for: variable)
            && positions.allSatisfy { isValid(value, for: variable, at: $0, allowsHTTP: provider.allowsPrivateNetwork) }
    }

    /// The pattern match alone.
    static func isValid(_ value: String, for variable: CatalogProvider.Variable?) -> Bool {
        guard let pattern = variable?.pattern, !value.isEmpty, value.count <= 255,
            let regex = try? NSRegularExpression(pattern: pattern)
        else { return false }
        let range = NSRange(value.startIndex..., in: value)
        guard let match = regex.firstMatch(in: value, range: range) else { return false }
        return match.range == range
    }

    /// The pattern match, plus what the place in the URL demands whatever the pattern says:
    /// a label or path segment is letters, digits, `-` and `_` only (so it cannot add a dot,
    /// a slash or a port); an origin is exactly `https://host[:port]`.
    static func isValid(_ value: String, for variable: CatalogProvider.Variable?, at position: Position, allowsHTTP: Bool) -> Bool {
        guard isValid(value, for: variable) else { return false }
        switch position {
        case .origin:
            return isOrigin(value, allowsHTTP: allowsHTTP)
        case .host, .path:
            return value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        case .query:
            return false
        }
    }

    /// `https://host[:port]`, lower case, nothing else (http only for loopback test providers).
    static func isOrigin(_ value: String, allowsHTTP: Bool) -> Bool {
        guard let components = URLComponents(string: value), let scheme = components.scheme,
            scheme == "https" || (allowsHTTP && scheme == "http"),
            let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil, components.path.isEmpty,
            components.query == nil, components.fragment == nil,
            value == value.lowercased()
        else { return false }
        return true
    }
}
