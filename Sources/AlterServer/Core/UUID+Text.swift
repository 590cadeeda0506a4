import Foundation

/// UUID text without Foundation's C formatting: on Linux `uuidString` goes through
/// `sprintf` and `UUID(uuidString:)` through `sscanf`, and a proxied call converts a handful
/// of ids (its request id, the grant id it was sent, the grant id its token is sealed to,
/// the one it answers with): 1.4% of the call's CPU in issue 14's profile. The same texts;
/// the parse is stricter than Foundation's (see `init(text:)`).
extension UUID {
    /// `uuidString` (upper case, 8-4-4-4-12).
    var uppercasedString: String { text(digits: Self.upper) }

    /// `uuidString.lowercased()`, the form the API answers with.
    var lowercasedString: String { text(digits: Self.lower) }

    /// 36 characters, hyphens after the 8th, 12th, 16th and 20th hex digit, digits in either
    /// case; nil for anything else. Foundation's `sscanf` also takes a sign, `0x` or a hyphen
    /// inside a digit pair, so one id had several spellings; this does not.
    init?(text: some StringProtocol) {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed: Bool = withUnsafeMutableBytes(of: &bytes) { out in
            var utf8 = text.utf8.makeIterator()
            var position = 0
            var byte = 0
            var high: UInt8? = nil
            while let char = utf8.next() {
                defer { position += 1 }
                if position == 8 || position == 13 || position == 18 || position == 23 {
                    guard char == UInt8(ascii: "-") else { return false }
                    continue
                }
                guard position < 36, let value = Self.hexValue(char) else { return false }
                if let first = high {
                    out[byte] = first << 4 | value
                    byte += 1
                    high = nil
                } else {
                    high = value
                }
            }
            return position == 36
        }
        guard parsed else { return nil }
        self.init(uuid: bytes)
    }

    private static let upper: StaticString = "0123456789ABCDEF"
    private static let lower: StaticString = "0123456789abcdef"

    private func text(digits: StaticString) -> String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var at = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        out[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    out[at] = digits.utf8Start[Int(byte >> 4)]
                    out[at + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    at += 2
                }
                return at
            }
        }
    }

    private static func hexValue(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): char - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
