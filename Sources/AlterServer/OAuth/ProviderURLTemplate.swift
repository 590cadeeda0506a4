import Foundation

/// Fills `{variable}` placeholders in catalog URLs with values an admin configured (or the
/// token response supplied), each checked against the catalog's pattern — never free-form.
enum ProviderURLTemplate {
    struct Unresolved: Error, CustomStringConvertible {
        let variable: String
        var description: String { "provider URL needs a valid value for {\(variable)}" }
    }

    static func resolve(_ template: String, provider: CatalogProvider, values: [String: String]) throws(Unresolved) -> String {
        var result = template
        while let open = result.firstIndex(of: "{"), let close = result[open...].firstIndex(of: "}") {
            let name = String(result[result.index(after: open)..<close])
            guard let value = values[name], isValid(value, for: provider.variables[name]) else { throw Unresolved(variable: name) }
            result.replaceSubrange(open...close, with: value)
        }
        return result
    }

    static func isValid(_ value: String, for variable: CatalogProvider.Variable?) -> Bool {
        guard let pattern = variable?.pattern, !value.isEmpty, value.count <= 255,
            let regex = try? NSRegularExpression(pattern: pattern)
        else { return false }
        let range = NSRange(value.startIndex..., in: value)
        guard let match = regex.firstMatch(in: value, range: range) else { return false }
        return match.range == range
    }
}
