@testable import AlterServer
import Crypto
import Foundation
import Testing

/// The verifier against the signatures the official SDK's own signer produced
/// (reference §3.5: `time.time()=1700000000.5`, nonce `0011…eeff`).
@Suite("SDK request signatures")
struct RequestSignatureTests {
    static let apiKey = "alter_rk_abcdefghijklmnopqrstuv_iwpykn"
    static let body = #"{"grant_id":"3f2c1a9e-8b7d-4c6e-9f01-23456789abcd","reason":null,"request":{"method":"GET","url":"https://www.googleapis.com/calendar/v3/calendars/primary/events"}}"#
    static let bodyHash = "60166fcfd156ec63e18a251c00bc67a1acf177a593d012b992a820189a532f7b"
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let nonce = "00112233445566778899aabbccddeeff"
    static let now = Date(timeIntervalSince1970: 1_700_000_000.5)

    struct Vector: CustomTestStringConvertible, Sendable {
        let name: String
        let method: String
        let target: String
        let body: String
        let identity: [String: String]
        let signature: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "legacy POST /sdk/token", method: "POST", target: "/sdk/token", body: body, identity: [:],
            signature: "24d28a4408e8f8a0e498e99655422ff07c0e5f30639cfe865927dff2bd74e448"),
        Vector(name: "V2 with actor id and context", method: "POST", target: "/sdk/token", body: body,
            identity: ["actor-id": "11111111-2222-4333-8444-555555555555", "actor-context": #"{"tool":"cal"}"#],
            signature: "b0b64273c261ff9ca433e31fc18ffd7ec98887d31d6c7e1cb81cfe349d21557c"),
        Vector(name: "V2 with caller and caller type", method: "POST", target: "/sdk/token", body: body,
            identity: ["caller": "billing-cron", "caller-type": "service"],
            signature: "b6f31de566dc8ed40267a02f85d255b408369805fb9fb4aa36529f061ff29435"),
        Vector(name: "GET with an unsorted query", method: "GET", target: "/sdk/agents?offset=0&limit=10&include_revoked=false", body: "",
            identity: [:], signature: "a696922b50cfdb05864f9b9713050e4c69c1ae260d9670e693496fa150fced5a"),
    ]

    static func signed(_ vector: Vector) -> RequestSignature {
        RequestSignature(
            method: vector.method, target: vector.target, timestamp: "1700000000", nonce: nonce,
            contentSHA256: RequestSignature.sha256Hex(Array(vector.body.utf8)), signature: vector.signature,
            signatureV2: vector.identity.isEmpty ? nil : vector.signature, identity: vector.identity)
    }

    @Test("the signing key is HMAC(api key, alter-signing-v1)")
    func signingKey() {
        let key = RequestSignature.signingKey(for: Self.apiKey)
        #expect(key.withUnsafeBytes { Data($0) }.lowercaseHex == "d686d74251939c285fe8fa5ad18c0e2003f1ca17a5346e7838389386c1ac079f")
        #expect(RequestSignature.sha256Hex(Array(Self.body.utf8)) == Self.bodyHash)
        #expect(RequestSignature.sha256Hex([UInt8]()) == Self.emptyHash)
    }

    @Test("the SDK's own signatures verify", arguments: vectors)
    func vectorVerifies(vector: Vector) throws {
        let request = Self.signed(vector)
        try request.verify(body: Array(vector.body.utf8), key: RequestSignature.signingKey(for: Self.apiKey), now: Self.now)
        let string = request.hasIdentity ? request.v2String : request.legacyString
        #expect(RequestSignature.sign(string, with: RequestSignature.signingKey(for: Self.apiKey)) == vector.signature)
    }

    @Test("the legacy string ends with an empty scope line; V2 appends identity lines in the SDK's order")
    func canonicalStrings() {
        let legacy = Self.signed(Self.vectors[0])
        #expect(legacy.legacyString == "POST\n/sdk/token\n1700000000\n\(Self.nonce)\n\(Self.bodyHash)\n")
        let v2 = Self.signed(Self.vectors[2])
        #expect(v2.v2String == legacy.legacyString + "\ncaller:billing-cron\ncaller-type:service")
        var ruled = legacy
        ruled.requestRule = "eyJydWxlIjoxfQ"
        #expect(ruled.legacyString == legacy.legacyString + "\nrequest-rule:eyJydWxlIjoxfQ")
    }

    struct Refusal: CustomTestStringConvertible, Sendable {
        let name: String
        let change: @Sendable (inout RequestSignature) -> Void
        var body: String = RequestSignatureTests.body
        var now: Date = RequestSignatureTests.now
        let failure: RequestSignature.Failure
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(name: "one hex digit changed", change: { $0.signature = "34" + $0.signature.dropFirst(2) }, failure: .invalidSignature),
        Refusal(name: "uppercase hex", change: { $0.signature = $0.signature.uppercased() }, failure: .invalidSignature),
        Refusal(name: "another method", change: { $0.method = "PUT" }, failure: .invalidSignature),
        Refusal(name: "another path", change: { $0.target = "/sdk/proxy" }, failure: .invalidSignature),
        Refusal(name: "another nonce", change: { $0.nonce = String(repeating: "f", count: 32) }, failure: .invalidSignature),
        Refusal(name: "an identity header added after signing", change: { $0.identity["caller"] = "someone"; $0.signatureV2 = $0.signature },
            failure: .invalidSignature),
        Refusal(name: "scope constraints added after signing", change: { $0.scopeConstraints = "calendar.read" }, failure: .invalidSignature),
        Refusal(name: "body changed, hash header kept", change: { _ in }, body: RequestSignatureTests.body + " ", failure: .contentHashMismatch),
        Refusal(name: "301 s old", change: { _ in }, now: Date(timeIntervalSince1970: 1_700_000_301), failure: .timestampOutOfRange),
        Refusal(name: "301 s in the future", change: { _ in }, now: Date(timeIntervalSince1970: 1_699_999_699), failure: .timestampOutOfRange),
        Refusal(name: "timestamp not an integer", change: { $0.timestamp = "1700000000.5" }, failure: .timestampOutOfRange),
    ]

    @Test("a changed request does not verify", arguments: refusals)
    func refused(refusal: Refusal) {
        var request = Self.signed(Self.vectors[0])
        refusal.change(&request)
        #expect(throws: refusal.failure) {
            try request.verify(body: Array(refusal.body.utf8), key: RequestSignature.signingKey(for: Self.apiKey), now: refusal.now)
        }
    }

    @Test("V2: stripping the V2 header, or signing only the legacy string, is refused")
    func downgrade() {
        let key = RequestSignature.signingKey(for: Self.apiKey)
        var stripped = Self.signed(Self.vectors[1])
        stripped.signatureV2 = nil
        #expect(throws: RequestSignature.Failure.invalidSignature) { try stripped.verify(body: Array(Self.body.utf8), key: key, now: Self.now) }
        var legacyOnly = Self.signed(Self.vectors[1])
        legacyOnly.signature = Self.vectors[0].signature
        legacyOnly.signatureV2 = Self.vectors[0].signature
        #expect(throws: RequestSignature.Failure.invalidSignature) { try legacyOnly.verify(body: Array(Self.body.utf8), key: key, now: Self.now) }
    }

    @Test("paths are percent-decoded; queries sorted and quote_plus-encoded as Python's urlencode(sorted(parse_qsl(q)))",
        arguments: [
            ("/sdk/agents?offset=0&limit=10&include_revoked=false", "/sdk/agents?include_revoked=false&limit=10&offset=0"),
            ("/sdk/x?b=2&a=1&a=0", "/sdk/x?a=0&a=1&b=2"),
            ("/sdk/x?&", "/sdk/x?"),
            ("/sdk/x?", "/sdk/x"),
            ("/sdk/x?x", "/sdk/x?x="),
            ("/sdk/x?name=caf%C3%A9+bar&z=%2F", "/sdk/x?name=caf%C3%A9+bar&z=%2F"),
            ("/sdk/x?q=a%20b&q=a+b&%C3%A9=1", "/sdk/x?q=a+b&q=a+b&%C3%A9=1"),
            ("/sdk/x?a=%zz&b=~-._", "/sdk/x?a=%25zz&b=~-._"),
            ("/sdk/grants/a%2Fb/%E2%82%AC%ff", "/sdk/grants/a/b/€\u{FFFD}"),
        ])
    func canonicalPath(target: String, expected: String) {
        #expect(RequestSignature.canonicalPath(target) == expected)
    }

    @Test("alter_rk_ keys carry the SDK's CRC-32 checksum")
    func keyFormat() {
        #expect(CRC32.checksum(Array("rk:abcdefghijklmnopqrstuv".utf8)) == 0x1AAC_3EC8)
        #expect(ScopedKey.checksum(type: "rk", random: "abcdefghijklmnopqrstuv") == "iwpykn")
        #expect(ScopedKey.isWellFormed(Self.apiKey))
        for bad in ["alter_rk_abcdefghijklmnopqrstuv_iwpykm", "alter_rk_abcdefghijklmnopqrstuv_iwpyk", "alter_ak_abcdefghijklmnopqrstuv_iwpykn",
            "alter_rk_ABCDEFGHIJKLMNOPQRSTUV_iwpykn", "alter_rk_abcdefghijklmnopqrstu1_iwpykn", "ak_abc", "",
            "alter_rk_abcdefghijklmnopqrstuv_iwpykn\u{301}", "alter_rk_abcdefghijklmnopqrstuv_iwpykn_", "Alter_rk_abcdefghijklmnopqrstuv_iwpykn",
            "alter_rk_abcdefghijklmnopqrstu\u{3BD}_iwpykn"] {
            #expect(!ScopedKey.isWellFormed(bad), "\(bad)")
        }
        let minted = (0..<50).map { _ in ScopedKey.generate() }
        #expect(minted.allSatisfy(ScopedKey.isWellFormed))
        #expect(Set(minted).count == 50)
    }
}
