import Foundation

/// The official Alter SDK's key format, `alter_<type>_<22 base32>_<6 checksum>`, which the
/// SDK checks on the client before it sends anything (reference §2). App keys are minted
/// as `alter_rk_…`, agent keys as `alter_ak_…`; only their SHA-256 is stored, as for every secret.
///
/// The checksum catches typos and truncation before a database read; it is not a secret.
enum ScopedKey {
    /// The runtime (app) key type.
    static let appType = "rk"
    /// The agent key type: the key acts as one agent of the app.
    static let agentType = "ak"
    static let mintedTypes: Set<String> = [appType, agentType]
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
    static let randomLength = 22
    static let checksumLength = 6

    /// A fresh key of `type`: 22 random base32 characters (110 bits) and their checksum.
    static func generate(type: String = appType) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = String((0..<randomLength).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        return "alter_\(type)_\(random)_\(checksum(type: type, random: random))"
    }

    /// `crc = CRC-32("<type>:<random>")`; character `i` is `alphabet[(crc >> 5i) & 31]`, least
    /// significant bits first (the SDK's `_key_format.py`).
    static func checksum(type: String, random: String) -> String {
        let crc = CRC32.checksum(Array("\(type):\(random)".utf8))
        return String((0..<checksumLength).map { alphabet[Int((crc >> (5 * UInt32($0))) & 31)] })
    }

    /// True for `alter_rk_<22>_<6>` or `alter_ak_<22>_<6>` with a matching checksum.
    /// Read as bytes: every authenticated call checks its key first, and the same test over
    /// `Character`s (grapheme breaking, a 32-way search per character) was ~1% of a proxied
    /// call's CPU (issue 14).
    static func isWellFormed(_ key: String) -> Bool {
        let parts = key.utf8.split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].elementsEqual("alter".utf8), let type = String(parts[1]), mintedTypes.contains(type),
            parts[2].count == randomLength, parts[3].count == checksumLength,
            parts[2].allSatisfy(alphabetBytes.contains), parts[3].allSatisfy(alphabetBytes.contains), let random = String(parts[2])
        else { return false }
        return checksum(type: type, random: random).utf8.elementsEqual(parts[3])
    }

    private static let alphabetBytes = Set("abcdefghijklmnopqrstuvwxyz234567".utf8)
}

/// CRC-32 (IEEE 802.3, the polynomial zlib uses), table-driven.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
