@testable import AlterServer
import Crypto
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("Secrets at rest")
struct SealerTests {
    static func key(_ id: String) -> Sealer.Key { .init(id: id, key: SymmetricKey(size: .bits256)) }

    @Test("a sealed value opens only for the same row and field")
    func bindsRowAndField() throws {
        let sealer = try Sealer(keys: [Self.key("a")])
        let sealed = try sealer.seal("s3cret", row: "row-1", field: "client_secret")
        #expect(!sealed.contains("s3cret"))
        #expect(try sealer.open(sealed, row: "row-1", field: "client_secret") == "s3cret")
        #expect(throws: Sealer.Failure.self) { try sealer.open(sealed, row: "row-2", field: "client_secret") }
        #expect(throws: Sealer.Failure.self) { try sealer.open(sealed, row: "row-1", field: "access_token") }
    }

    @Test("old ciphertexts stay readable after a new key becomes active; unknown keys fail clearly")
    func keyRing() throws {
        let old = Self.key("old")
        let new = Self.key("new")
        let sealedWithOld = try Sealer(keys: [old]).seal("v", row: "r", field: "f")
        let rotated = try Sealer(keys: [new, old])
        #expect(try rotated.open(sealedWithOld, row: "r", field: "f") == "v")
        #expect(Sealer.keyID(of: try rotated.seal("v", row: "r", field: "f")) == "new")
        #expect(throws: Sealer.Failure.unknownKey("old")) { try Sealer(keys: [new]).open(sealedWithOld, row: "r", field: "f") }
        #expect(throws: Sealer.Failure.malformed) { try rotated.open("v1.new.%%%", row: "r", field: "f") }
    }

    /// `open` finds the parts by scanning for dots; every shape but `v1.<id>.<base64url>` is refused.
    @Test("a value not of the form v1.<key id>.<base64url> is malformed", arguments: [
        "", "v1", "v1.", "v1.a", "v2.a.AAAAAAAAAAAAAAAAAAAAAAAA", "V1.a.AAAAAAAAAAAAAAAAAAAAAAAA", "xv1.a.AAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.a.AAAAAAAAAAAA.AAAAAAAAAAAA", "v1.a.AAAAAAAAAAAAAAAAAAAAAAA=", "v1.a.AAAA AAAAAAAAAAAAAAAAAAAA", ".v1.a.AAAAAAAAAAAAAAAAAAAAAAAA",
    ])
    func malformed(value: String) throws {
        let sealer = try Sealer(keys: [Self.key("a")])
        #expect(throws: Sealer.Failure.malformed) { try sealer.open(value, row: "r", field: "f") }
    }

    @Test("the key id is the text between the first and the second dot, also when empty or unknown")
    func keyIDPart() throws {
        let sealer = try Sealer(keys: [Self.key("a")])
        let sealed = try sealer.seal("value", row: "r", field: "f")
        let payload = sealed.dropFirst("v1.a.".count)
        #expect(throws: Sealer.Failure.unknownKey("")) { try sealer.open("v1..\(payload)", row: "r", field: "f") }
        #expect(throws: Sealer.Failure.unknownKey("b-2")) { try sealer.open("v1.b-2.\(payload)", row: "r", field: "f") }
        #expect(try sealer.open("v1.a.\(payload)", row: "r", field: "f") == "value")
    }

    @Test("tampering with a ciphertext is detected")
    func tamper() throws {
        let sealer = try Sealer(keys: [Self.key("a")])
        var sealed = Array(try sealer.seal("value", row: "r", field: "f"))
        let index = sealed.count - 5
        sealed[index] = sealed[index] == "A" ? "B" : "A"
        #expect(throws: Sealer.Failure.self) { try sealer.open(String(sealed), row: "r", field: "f") }
    }

    @Test("ALTER_ENCRYPTION_KEYS entries are validated")
    func parsesKeys() throws {
        let good = Data(repeating: 7, count: 32).base64EncodedString()
        #expect(try EncryptionKeys.parse("k1:\(good),k2:\(good)").map(\.id) == ["k1", "k2"])
        for bad in ["k1", "k1:short", ":\(good)", "bad id:\(good)", "k1:\(Data(repeating: 1, count: 16).base64EncodedString())"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try EncryptionKeys.parse(bad) }
        }
        #expect(throws: Sealer.InvalidKeyRing.self) { try Sealer(keys: EncryptionKeys.parse("a:\(good),a:\(good)")) }
    }

    @Test("on first run a key file readable only by its owner is created in the data directory")
    func createsKeyFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alter-keys-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = AlterConfiguration(publicURL: "http://localhost:4000", dataDirectory: directory)
        let first = try EncryptionKeys.load(configuration: configuration)
        let second = try EncryptionKeys.load(configuration: configuration)
        #expect(first.map(\.id) == second.map(\.id))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/encryption.keys")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test("provider client secrets are stored sealed, and the server refuses to start without their key", arguments: TestDatabase.all)
    func refusesStartWithoutKey(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let config = try #require(try await ProviderConfig.query(on: app.db).filter(\.$app.$id == seeded.id).first())
            #expect(!config.sealedClientSecret.contains("secret-sandbox"))
            #expect(try config.clientSecret(using: app.sealer) == "secret-sandbox")

            // The same database with a different key ring: start-up must fail, naming the key.
            app.sealer = try Sealer(keys: [Self.key("other")])
            await #expect(throws: ConfigurationError.self) { try await prepareStorage(app) }
        }
    }

    @Test("base64url decodes every length as Foundation's padded base64 does, and refuses what is not base64url")
    func base64URL() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let encoded = Data(bytes).base64URLEncodedString()
            #expect(Data(base64URLEncoded: encoded) == Data(bytes))
            var padded = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            padded += String(repeating: "=", count: (4 - padded.count % 4) % 4)
            #expect(Data(base64Encoded: padded) == Data(bytes))
        }
        for refused in ["a", "abcde", "ab=", "ab+c", "ab/c", "ab c", "abé", "ab\u{0}c"] {
            #expect(Data(base64URLEncoded: refused) == nil, "\(refused)")
        }
    }
}
