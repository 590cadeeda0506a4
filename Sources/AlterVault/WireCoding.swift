import Foundation

/// JSON as the vault writes it: snake_case keys (spelled out in each type's `CodingKeys`)
/// and ISO 8601 dates, with or without fractional seconds.
enum WireCoding {
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "Expected an ISO 8601 date.")
            }
            return date
        }
        return decoder
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    /// Decodes a successful answer; a body that does not match is the vault's fault, reported
    /// without echoing the body (it may hold a token).
    static func decode<T: Decodable>(_ type: T.Type, from data: Data, status: Int) throws -> T {
        do {
            return try decoder().decode(type, from: data)
        } catch {
            throw AlterVaultError(
                code: .unexpectedResponse,
                message: "The vault's answer (HTTP \(status)) could not be read as \(T.self).",
                status: status)
        }
    }
}
