import Crypto
import Foundation

/// Where the sealer's keys come from: `ALTER_ENCRYPTION_KEYS`, else a key file in the data
/// directory that is created (mode 0600) on first run.
enum EncryptionKeys {
    static let fileName = "encryption.keys"

    /// Parses `id:base64key[,id:base64key…]` (the format of both the variable and the file).
    static func parse(_ text: String) throws -> [Sealer.Key] {
        let entries = text.split(whereSeparator: { $0 == "," || $0 == "\n" }).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        return try entries.map { entry in
            guard let colon = entry.firstIndex(of: ":") else {
                throw ConfigurationError("encryption key entries must look like id:base64key")
            }
            let id = String(entry[..<colon])
            guard !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw ConfigurationError("encryption key ids may only contain letters, digits, '-' and '_'")
            }
            let encoded = String(entry[entry.index(after: colon)...])
            guard let bytes = Data(base64Encoded: encoded) ?? Data(base64URLEncoded: encoded), bytes.count == 32 else {
                throw ConfigurationError("encryption key '\(id)' must be 32 bytes, base64-encoded")
            }
            return Sealer.Key(id: id, key: SymmetricKey(data: bytes))
        }
    }

    static func format(_ keys: [(id: String, bytes: Data)]) -> String {
        keys.map { "\($0.id):\($0.bytes.base64EncodedString())" }.joined(separator: "\n") + "\n"
    }

    /// Loads the key ring from the configuration, creating the key file on first run.
    static func load(configuration: AlterConfiguration) throws -> [Sealer.Key] {
        if let keys = configuration.encryptionKeys {
            return try parse(keys)
        }
        let path = configuration.dataDirectory + "/" + fileName
        let fileManager = FileManager.default
        if !fileManager.fileExists(atPath: path) {
            try fileManager.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
            let id = "k" + String(Int(Date().timeIntervalSince1970))
            let bytes = Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
            try writePrivately(format([(id, bytes)]), to: path)
        }
        return try parse(String(contentsOfFile: path, encoding: .utf8))
    }

    /// Writes a file that only the owner can read (0600), creating it with that mode so the
    /// secret is never briefly world-readable.
    static func writePrivately(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw ConfigurationError("cannot create \(temporary): errno \(errno)") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count else { throw ConfigurationError("cannot write \(temporary)") }
        guard rename(temporary, path) == 0 else { throw ConfigurationError("cannot move key file into \(path)") }
    }
}
