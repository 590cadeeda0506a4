import Foundation

/// What an agent's fields may hold, as pure checks shared by every surface (`/v1`, `/sdk`,
/// the CLI). Each returns the value to store or throws `invalid_request` naming the rule.
enum AgentRules {
    static let maxNameLength = 64
    static let maxDisplayNameLength = 128
    /// The SDK's bounds: metadata ≤ 8 KB, scopes ≤ 12 KB of compact JSON.
    static let maxMetadataBytes = 8 * 1024
    static let maxScopesBytes = 12 * 1024

    /// Lowercase letters, digits, `-` and `_`, starting with a letter or digit: names end up
    /// in logs, audit entries and URLs.
    static func name(_ raw: String) throws -> String {
        let allowed = raw.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
        guard (1...maxNameLength).contains(raw.count), allowed, let first = raw.unicodeScalars.first, first != "-", first != "_",
            UUID(text: raw) == nil
        else {
            throw APIError.invalidRequest("name must be 1–\(maxNameLength) lowercase letters, digits, - and _, starting with a letter or digit.")
        }
        return raw
    }

    static func displayName(_ raw: String?) throws -> String? {
        guard let raw else { return nil }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...maxDisplayNameLength).contains(trimmed.count), !trimmed.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 0x20 } == true })
        else { throw APIError.invalidRequest("display_name must be 1–\(maxDisplayNameLength) characters on one line.") }
        return trimmed
    }

    /// A JSON object of at most `maxMetadataBytes`, stored as compact JSON.
    static func metadata(_ value: [String: WireValue]?) throws -> String {
        let text = WireValue.object(value ?? [:]).compactJSON
        guard text.utf8.count <= maxMetadataBytes else { throw APIError.invalidRequest("metadata must be at most \(maxMetadataBytes) bytes of JSON.") }
        return text
    }

    /// `{provider: [scope, …]}`: provider ids and scopes non-empty, without edge whitespace,
    /// each provider with at least one scope. `{}` is an agent that may use no provider.
    static func scopes(_ value: [String: [String]]) throws -> String {
        for (provider, scopes) in value {
            guard !provider.isEmpty, provider == provider.trimmingCharacters(in: .whitespacesAndNewlines), provider.count <= 128,
                !scopes.isEmpty, scopes.count <= 100,
                scopes.allSatisfy({ !$0.isEmpty && $0.count <= 256 && $0 == $0.trimmingCharacters(in: .whitespacesAndNewlines) })
            else {
                throw APIError.invalidRequest("scopes maps provider ids to non-empty lists of scopes, without edge whitespace.")
            }
        }
        let text = WireValue.object(value.mapValues { .array($0.map(WireValue.string)) }).compactJSON
        guard text.utf8.count <= maxScopesBytes else { throw APIError.invalidRequest("scopes must be at most \(maxScopesBytes) bytes of JSON.") }
        return text
    }

    /// Approval and time policies are not implemented: an empty block is accepted, any
    /// rule is refused rather than silently ignored.
    static func policy(_ value: [String: WireValue]?) throws {
        guard value?.isEmpty ?? true else {
            throw APIError.invalidRequest("Agent policies are not supported by this vault; send policy {} or leave it out.")
        }
    }
}
