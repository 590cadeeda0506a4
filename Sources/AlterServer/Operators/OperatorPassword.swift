import Crypto
import CryptoExtras
import Foundation

/// Operator passwords: the rules a new one must meet, and its slow hash.
///
/// scrypt (RFC 7914) from swift-crypto's CryptoExtras (BoringSSL's `EVP_PBE_scrypt`), with
/// OWASP's Password Storage Cheat Sheet parameters N=2^15, r=8, p=3 (32 MiB, memory-hard).
/// The encoded form carries its parameters, `scrypt$15$8$3$<salt>$<hash>` (base64), so the
/// cost can rise later without breaking stored hashes.
enum OperatorPassword {
    struct Cost: Sendable, Equatable {
        var log2N: Int
        var r: Int
        var p: Int
        static let standard = Cost(log2N: 15, r: 8, p: 3)
        /// The least cost `verify` accepts (1 MiB); only `alter demo` under
        /// `ALTER_DEMO_WEAK_PASSWORD_HASHING=1` (the e2e tests) hashes with it.
        static let weakForTests = Cost(log2N: 10, r: 8, p: 1)
    }

    static let minimumLength = 12
    /// A bound on the work one sign-in attempt can ask of the KDF.
    static let maximumLength = 256

    /// Why a chosen password is refused; the text is shown to the operator as it is.
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    static func check(_ password: String, email: String) throws(Refusal) {
        guard password.count >= minimumLength else { throw Refusal(description: "Choose a password of at least \(minimumLength) characters.") }
        guard password.count <= maximumLength else { throw Refusal(description: "Choose a password of at most \(maximumLength) characters.") }
        guard password.lowercased() != email.lowercased() else { throw Refusal(description: "The password must not be the email address.") }
    }

    static func hash(_ password: String, cost: Cost = .standard) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let derived = try derive(password, salt: salt, cost: cost)
        return "scrypt$\(cost.log2N)$\(cost.r)$\(cost.p)$\(Data(salt).base64EncodedString())$\(derived.base64EncodedString())"
    }

    /// Constant-time comparison of the derived key; false for a malformed stored hash.
    static func verify(_ password: String, against encoded: String) -> Bool {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let log2N = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
            (10...20).contains(log2N), (1...32).contains(r), (1...16).contains(p),
            let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]), password.count <= maximumLength,
            let derived = try? derive(password, salt: Array(salt), cost: Cost(log2N: log2N, r: r, p: p))
        else { return false }
        guard derived.count == expected.count else { return false }
        return zip(derived, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// A hash of no password, checked when the email is unknown so that the answer takes as
    /// long as for a known one (no account discovery by timing).
    static let decoy: String = (try? hash(SecretToken.randomString(bytes: 16))) ?? ""

    private static func derive(_ password: String, salt: [UInt8], cost: Cost) throws -> Data {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << cost.log2N, blockSize: cost.r, parallelism: cost.p,
            maxMemory: 256 * cost.r * ((1 << cost.log2N) + cost.p))
        return key.withUnsafeBytes { Data($0) }
    }
}
