import Foundation

/// The write-only part of a managed secret: the token (or username and password), plus a
/// service's extra fields. Stored only sealed (`ManagedSecret.sealedValue`); no response,
/// log line or error message ever carries it.
struct SecretValue: Codable, Sendable, Equatable {
    var token: String?
    var username: String?
    var password: String?
    var fields: [String: String] = [:]

    static let maxLength = 8192

    /// A value as sent (`{"token": …}`, `{"username": …, "password": …}`, plus extra fields),
    /// checked against what the template needs. Messages name fields, never values.
    init(parsing raw: [String: String], for injection: SecretInjection) throws(SecretInputError) {
        let extras = Set(injection.extraFields.map(\.name))
        let expected: Set<String> = injection.kind == .basic ? ["username", "password"] : ["token"]
        if let unknown = Set(raw.keys).subtracting(expected).subtracting(extras).sorted().first {
            throw SecretInputError("value.\(unknown) is not a field of this template (it takes \(expected.union(extras).sorted().joined(separator: ", "))).")
        }
        for (name, text) in raw {
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw SecretInputError("value.\(name) is empty.") }
            guard text.utf8.count <= Self.maxLength else { throw SecretInputError("value.\(name) is over \(Self.maxLength) bytes.") }
            guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw SecretInputError("value.\(name) contains control characters (CR, LF, NUL…), which cannot travel in a header.")
            }
        }
        for name in expected.sorted() where raw[name] == nil {
            throw SecretInputError("value.\(name) is required.")
        }
        if injection.kind == .basic {
            guard raw["username"]?.contains(":") == false else { throw SecretInputError("value.username may not contain ':' (RFC 7617).") }
            username = raw["username"]
            password = raw["password"]
        } else {
            token = raw["token"]
        }
        fields = raw.filter { extras.contains($0.key) }
    }

    /// Every string a leak check should look for.
    var allStrings: [String] { [token, username, password].compactMap { $0 } + fields.values.sorted() }

    func sealed(using sealer: Sealer, row: UUID) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(self), as: UTF8.self)
        return try sealer.seal(text, row: row.uuidString, field: Self.sealedField)
    }

    static func opened(_ sealed: String, using sealer: Sealer, row: UUID) throws -> SecretValue {
        try JSONDecoder().decode(SecretValue.self, from: Data(try sealer.open(sealed, row: row.uuidString, field: sealedField).utf8))
    }

    static let sealedField = "managed_secret_value"
}

/// A managed secret's input was refused: the message says which field and why.
struct SecretInputError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
