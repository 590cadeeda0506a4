import Crypto
import Foundation

/// Encrypts secrets at rest with AES-256-GCM under a key ring.
///
/// A sealed value is `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id lets old
/// ciphertexts stay readable after a new key becomes the active one. The associated data binds
/// each ciphertext to its row and field, so a value copied into another row or column fails
/// to open instead of silently decrypting there.
struct Sealer: Sendable {
    struct Key: Sendable {
        let id: String
        let key: SymmetricKey
    }

    enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed
        case unknownKey(String)
        case authenticationFailed

        var description: String {
            switch self {
            case .malformed: "sealed value is malformed"
            case .unknownKey(let id): "sealed value uses encryption key '\(id)', which is not in the key ring"
            case .authenticationFailed: "sealed value does not authenticate for this row and field"
            }
        }
    }

    /// The key new values are sealed with (the reloaded ring's, once it was reloaded).
    var activeKey: Key { reloader?.reloadedActiveKey ?? startKey }
    private let startKey: Key
    private let keys: [String: SymmetricKey]
    /// Where a key unknown to `keys` may be found (the key file), or nil.
    private let reloader: KeyRingReloader?

    /// A key ring the sealer cannot work with; the server refuses to start.
    struct InvalidKeyRing: Error, CustomStringConvertible {
        let description: String
    }

    /// - Parameter keys: the ring; the first key is the active one.
    init(keys: [Key], reloader: KeyRingReloader? = nil) throws(InvalidKeyRing) {
        guard let first = keys.first else { throw InvalidKeyRing(description: "no encryption key configured") }
        var ring: [String: SymmetricKey] = [:]
        for key in keys {
            guard key.key.bitCount == 256 else { throw InvalidKeyRing(description: "encryption key '\(key.id)' is not 256 bits") }
            guard ring.updateValue(key.key, forKey: key.id) == nil else {
                throw InvalidKeyRing(description: "encryption key id '\(key.id)' appears twice")
            }
        }
        self.startKey = first
        self.keys = ring
        self.reloader = reloader
    }

    var keyIDs: Set<String> { Set(keys.keys) }

    /// A value that tells whether two rings hold the same key under `id` without revealing
    /// it: HMAC-SHA256 of a fixed label under the key. Instances sharing a database compare
    /// theirs (`KeyRingCheck`); nil if the ring has no such key.
    func checkValue(forKey id: String) -> String? {
        guard let key = keys[id] else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("alter-vault key check v1|\(id)".utf8), using: key)
        return Data(mac).base64URLEncodedString()
    }

    func seal(_ plaintext: String, row: String, field: String) throws -> String {
        let activeKey = self.activeKey
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: activeKey.key, authenticating: Self.associatedData(row: row, field: field))
        guard let combined = box.combined else { throw Failure.malformed }
        return "v1.\(activeKey.id).\(combined.base64URLEncodedString())"
    }

    func open(_ sealed: String, row: String, field: String) throws -> String {
        // `v1.<key id>.<payload>`, found by one scan for the second dot: every proxied call opens
        // a token, and `split` built an array of three substrings for it (issue 14). A dot in
        // the payload is outside base64url's alphabet, so the decode refuses it.
        let utf8 = sealed.utf8
        guard utf8.starts(with: "v1.".utf8) else { throw Failure.malformed }
        let idStart = utf8.index(utf8.startIndex, offsetBy: 3)
        guard let idEnd = utf8[idStart...].firstIndex(of: UInt8(ascii: ".")),
            let data = Data(base64URLEncoded: sealed[utf8.index(after: idEnd)...])
        else {
            throw Failure.malformed
        }
        let keyID = String(sealed[idStart..<idEnd])
        guard let key = keys[keyID] ?? reloader?.key(keyID) else { throw Failure.unknownKey(keyID) }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plaintext = try AES.GCM.open(box, using: key, authenticating: Self.associatedData(row: row, field: field))
            return String(decoding: plaintext, as: UTF8.self)
        } catch {
            throw Failure.authenticationFailed
        }
    }

    /// The key id a sealed value was written with, without opening it.
    static func keyID(of sealed: String) -> String? {
        let parts = sealed.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0] == "v1" ? String(parts[1]) : nil
    }

    private static func associatedData(row: String, field: String) -> Data {
        Data("alter-vault|\(row)|\(field)".utf8)
    }
}

extension Data {
    func base64URLEncodedString() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Unpadded base64url (RFC 4648 §5), as sealed values, JWTs and PKCE use it; nil for
    /// any other byte or an impossible length. Decoded byte by byte: every proxied call opens
    /// a sealed token, and the Unicode character checks plus two string rewrites this
    /// replaced were most of the cost of opening one (issue 14's profile).
    init?(base64URLEncoded string: some StringProtocol) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(string.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in string.utf8 {
            let value = Self.base64URLValues[Int(byte)]
            guard value != 0xFF else { return nil }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // 6 bits left over means one lone character: no byte ends there.
        guard bits < 6 else { return nil }
        self.init(bytes)
    }

    /// Each byte's base64url value, 0xFF for bytes outside the alphabet.
    private static let base64URLValues: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        return table
    }()
}
