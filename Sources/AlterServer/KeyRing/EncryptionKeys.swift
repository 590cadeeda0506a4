import Crypto
import Foundation
import CoreFoundation

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
    ///
    /// Instances sharing PostgreSQL must share one ring, so there the key file (one per
    /// machine, made up on first run) is refused: `ALTER_ENCRYPTION_KEYS` is required.
    static func load(configuration: AlterConfiguration) throws -> [Sealer.Key] {
        if let keys = configuration.encryptionKeys {
            return try parse(keys)
        }
        if case .postgres = configuration.database {
            throw ConfigurationError(
                "DATABASE_URL is set but ALTER_ENCRYPTION_KEYS is not: every instance sharing the database needs the same key ring (generate one with `openssl rand -base64 32` and set ALTER_ENCRYPTION_KEYS=k1:<key>)")
        }
        let path = configuration.dataDirectory + "/" + fileName
        try createPrivateDirectory(configuration.dataDirectory)
        if !FileManager.default.fileExists(atPath: path) {
            let bytes = Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
            try writePrivately(format([(newKeyID(), bytes)]), to: path)
        }
        try refuseIfShared(path)
        return try parse(String(contentsOfFile: path, encoding: .utf8))
    }

    /// A random key id (`k` + 12 hex digits): ids made from the clock collide when two
    /// machines create their first key in the same second.
    static func newKeyID() -> String {
        "k" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max)) }.joined()
    }

    /// The data directory holds the key file and the database: owner only (0700).
    static func createPrivateDirectory(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    /// A key file that group or others may read is refused (it may have been copied
    /// carelessly, or made by an older version under a loose umask).
    static func refuseIfShared(_ path: String) throws {
        // attributesOfItem does not follow a symbolic link (lstat).
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { throw ConfigurationError("cannot read \(path)") }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw ConfigurationError("\(path) is not a regular file (a symbolic link is refused)") }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o077 == 0 else {
            throw ConfigurationError("\(path) may be read by other users (mode \(String(mode & 0o777, radix: 8))); run chmod 600 on it")
        }
    }

    /// Writes a file that only the owner can read (0600), creating it with that mode so the
    /// secret is never briefly world-readable. The temporary file is created exclusively and
    /// never through a symbolic link (a planted link or a stale file with a loose mode would
    /// otherwise receive the keys), and the directory is synced after the rename.
    static func writePrivately(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw ConfigurationError("cannot create \(temporary): errno \(errno)") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else { throw ConfigurationError("cannot write \(temporary)") }
        guard rename(temporary, path) == 0 else { throw ConfigurationError("cannot move key file into \(path)") }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
