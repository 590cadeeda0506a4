import Crypto
import Foundation

/// The official Alter SDK's request signature (reference §3), as a pure function of what
/// arrived: method, request target, the `X-Alter-*` headers and the raw body bytes.
///
/// `k = HMAC-SHA256(key: api_key, "alter-signing-v1")`, and the signature is
/// `hex(HMAC-SHA256(k, canonical string))`. The canonical string is six lines (method,
/// percent-decoded path with its sorted query, timestamp, nonce, body SHA-256, scope
/// constraints), then `request-rule:` when a rule is sent, then (V2) one line for each
/// identity header that is present. Freshness of the nonce is the caller's job
/// (`NonceStore`): this type has no state.
struct RequestSignature: Sendable, Equatable {
    /// The signing headers, by the names the SDK sends.
    enum Header {
        static let timestamp = "X-Alter-Timestamp"
        static let nonce = "X-Alter-Nonce"
        static let contentSHA256 = "X-Alter-Content-SHA256"
        static let signature = "X-Alter-Signature"
        static let signatureV2 = "X-Alter-Signature-V2"
        static let scopeConstraints = "X-Alter-Scope-Constraints"
        static let requestRule = "X-Alter-Request-Rule"
        /// V2 identity headers, in the order their lines are appended, with their labels.
        static let identity: [(label: String, name: String)] = [
            ("caller", "X-Alter-Caller"), ("caller-type", "X-Alter-Caller-Type"),
            ("actor-id", "X-Alter-Actor-ID"), ("actor-context", "X-Alter-Context"),
        ]
    }

    /// How far a request's clock may be from ours (reference §3.4 suggestion).
    static let allowedSkew: TimeInterval = 300
    static let keyDerivationLabel = "alter-signing-v1"

    var method: String
    /// The request target as sent: raw (percent-encoded) path plus `?query` if any.
    var target: String
    var timestamp: String
    var nonce: String
    var contentSHA256: String
    var signature: String
    var signatureV2: String?
    var scopeConstraints: String?
    var requestRule: String?
    /// Identity header values by label (`caller`, `caller-type`, `actor-id`, `actor-context`).
    var identity: [String: String] = [:]

    /// Why a request's signature is refused; each has its own wire code.
    enum Failure: Error, Equatable {
        case contentHashMismatch, timestampOutOfRange, invalidSignature
    }

    // MARK: - Signing

    static func signingKey(for apiKey: String) -> SymmetricKey {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(keyDerivationLabel.utf8), using: SymmetricKey(data: Data(apiKey.utf8)))
        return SymmetricKey(data: Data(mac))
    }

    static func sha256Hex(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).lowercaseHex
    }

    /// The string the SDK signs without identity headers.
    var legacyString: String {
        var lines = [method.uppercased(), Self.canonicalPath(target), timestamp, nonce, contentSHA256, scopeConstraints ?? ""]
        if let rule = requestRule, !rule.isEmpty { lines[5] += "\nrequest-rule:" + rule }
        return lines.joined(separator: "\n")
    }

    /// The legacy string plus `\n<label>:<value>` for each non-empty identity header.
    var v2String: String {
        Header.identity.reduce(legacyString) { string, header in
            guard let value = identity[header.label], !value.isEmpty else { return string }
            return string + "\n\(header.label):\(value)"
        }
    }

    var hasIdentity: Bool { identity.values.contains { !$0.isEmpty } }

    static func sign(_ string: String, with key: SymmetricKey) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(string.utf8), using: key)).lowercaseHex
    }

    // MARK: - Verification

    /// Checks the body hash, the clock and the signature, in that order.
    /// - Parameters:
    ///   - body: the raw bytes received (never a re-serialisation).
    ///   - key: `signingKey(for:)` of the plaintext key the request carried.
    func verify(body: some DataProtocol, key: SymmetricKey, now: Date) throws(Failure) {
        guard Self.constantTimeEquals(contentSHA256, Self.sha256Hex(body)) else { throw .contentHashMismatch }
        guard timestamp.count <= 12, timestamp.allSatisfy(\.isASCIIDigit), let seconds = Double(timestamp),
            abs(now.timeIntervalSince1970 - seconds) <= Self.allowedSkew
        else { throw .timestampOutOfRange }
        if hasIdentity {
            // Both headers carry the V2 digest, so stripping the identity headers and V2
            // (a downgrade to legacy) cannot verify.
            let expected = Self.sign(v2String, with: key)
            guard let v2 = signatureV2, Self.constantTimeEquals(v2, expected), Self.constantTimeEquals(signature, expected)
            else { throw .invalidSignature }
        } else {
            guard Self.constantTimeEquals(signature, Self.sign(legacyString, with: key)) else { throw .invalidSignature }
        }
    }

    /// Equal strings, in time that depends only on their lengths.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    // MARK: - Canonical path (Python's `unquote` and `urlencode(sorted(parse_qsl(...)))`)

    /// `unquote(path)`, plus `?` and the sorted, `quote_plus`-encoded query when the raw
    /// query is non-empty (a query that parses to nothing keeps the bare `?`).
    static func canonicalPath(_ target: String) -> String {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = percentDecode(String(parts[0]), plusAsSpace: false)
        guard parts.count == 2, !parts[1].isEmpty else { return path }
        return path + "?" + canonicalQuery(String(parts[1]))
    }

    static func canonicalQuery(_ query: String) -> String {
        let pairs: [(String, String)] = query.split(separator: "&", omittingEmptySubsequences: true).map { piece in
            let nameValue = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(nameValue[0]), plusAsSpace: true)
            let value = nameValue.count == 2 ? percentDecode(String(nameValue[1]), plusAsSpace: true) : ""
            return (name, value)
        }
        // Python compares strings by code point; Swift's `<` on String does not.
        let sorted = pairs.sorted { lhs, rhs in
            let left = Array(lhs.0.unicodeScalars.map(\.value)), right = Array(rhs.0.unicodeScalars.map(\.value))
            if left != right { return left.lexicographicallyPrecedes(right) }
            return Array(lhs.1.unicodeScalars.map(\.value)).lexicographicallyPrecedes(Array(rhs.1.unicodeScalars.map(\.value)))
        }
        return sorted.map { quotePlus($0.0) + "=" + quotePlus($0.1) }.joined(separator: "&")
    }

    /// `%XX` → byte, then UTF-8 with U+FFFD for invalid sequences (Python's `errors="replace"`).
    static func percentDecode(_ string: String, plusAsSpace: Bool) -> String {
        var bytes: [UInt8] = []
        let source = Array(string.utf8)
        var index = 0
        while index < source.count {
            let byte = source[index]
            if byte == UInt8(ascii: "%"), index + 2 < source.count,
                let high = hexValue(source[index + 1]), let low = hexValue(source[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Python's `quote_plus`: `A-Za-z0-9_.-~` stay, space becomes `+`, the rest `%XX`.
    static func quotePlus(_ string: String) -> String {
        var result = ""
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                result += "+"
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
