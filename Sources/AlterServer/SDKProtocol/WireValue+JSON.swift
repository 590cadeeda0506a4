import Foundation

/// Any JSON read back in, as agents' `metadata` arrives (booleans stay booleans: the
/// decoder tries them first).
extension WireValue: Decodable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([WireValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: WireValue].self))
        }
    }

    /// Compact JSON with sorted keys, the form stored.
    var compactJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// The value of stored JSON text; `{}` when the text is not JSON.
    init(jsonText: String) {
        self = (try? JSONDecoder().decode(WireValue.self, from: Data(jsonText.utf8))) ?? .object([:])
    }
}
