@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOFoundationCompat
import Testing
import Vapor
import VaporTesting

/// The signature middleware through the real app: what passes, what is refused (401, its
/// own code, nothing stored, not even the key's last use), and replays across instances.
@Suite("Signed /sdk requests")
struct SignedRequestTests {
    static let path = "/sdk/oauth/connect/session"
    static let body = Array(#"{"allowed_providers":["sandbox"],"return_url":null,"allowed_origin":"http://localhost:4001","metadata":null}"#.utf8)

    /// Headers as the SDK sends them (legacy form), signed by `RequestSignature` (pinned to the
    /// SDK's own vectors in RequestSignatureTests).
    static func headers(
        key: String, path: String = path, body: [UInt8] = body, signedBody: [UInt8]? = nil, timestamp: Date = Date(), nonce: String? = nil
    ) -> HTTPHeaders {
        var signature = RequestSignature(
            method: "POST", target: path, timestamp: String(Int(timestamp.timeIntervalSince1970)),
            nonce: nonce ?? (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined(),
            contentSHA256: RequestSignature.sha256Hex(signedBody ?? body), signature: "")
        signature.signature = RequestSignature.sign(signature.legacyString, with: RequestSignature.signingKey(for: key))
        return [
            "x-api-key": key, RequestSignature.Header.timestamp: signature.timestamp, RequestSignature.Header.nonce: signature.nonce,
            RequestSignature.Header.contentSHA256: signature.contentSHA256, RequestSignature.Header.signature: signature.signature,
            "Content-Type": "application/json",
        ]
    }

    static func send(_ app: Application, _ headers: HTTPHeaders, path: String = path, body: [UInt8] = body) async throws -> (status: HTTPStatus, code: String?) {
        let answer = try await sendJSON(app, headers, path: path, body: body)
        return (answer.status, answer.json["error"] as? String)
    }

    static func sendJSON(_ app: Application, _ headers: HTTPHeaders, path: String, body: [UInt8]) async throws -> (status: HTTPStatus, json: [String: Any]) {
        var result: (HTTPStatus, [String: Any])?
        try await app.testing().test(.POST, path, headers: headers, body: ByteBuffer(bytes: body)) { response async in
            result = (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:])
        }
        return result!
    }

    @Test("/sdk/token names the header the provider wants the token in, from the catalog")
    func injection() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app, providers: ["sandbox", "shopify"])
            let cases = [("sandbox", "Authorization", "Bearer {token}"), ("shopify", "X-Shopify-Access-Token", "{token}")]
            for (provider, header, format) in cases {
                let grantID = try await storeGrant(app, appID: seeded.id, provider: provider, account: "a@\(provider).test", accessToken: "tok-\(provider)")
                let body = Array(#"{"grant_id":"\#(grantID.lowercased())","reason":null,"request":{"method":"GET","url":"https://example.com/x"}}"#.utf8)
                let answer = try await Self.sendJSON(app, Self.headers(key: seeded.key, path: "/sdk/token", body: body), path: "/sdk/token", body: body)
                #expect(answer.status == .ok, "\(provider)")
                #expect(answer.json["access_token"] as? String == "tok-\(provider)")
                #expect(answer.json["grant_id"] as? String == grantID.lowercased())
                #expect(answer.json["provider_id"] as? String == provider)
                #expect(answer.json["injection_header"] as? String == header)
                #expect(answer.json["injection_format"] as? String == format)
                // The token hand-out's audit entry is written in a batch; let it land before the
                // next grant's write transaction (SQLite: a deferred transaction that must upgrade
                // to a writer fails with "database is locked" if another write committed meanwhile).
                await app.auditLog.flush()
            }
        }
    }

    @Test("a signed request passes once; refusals get their own 401 and store nothing", arguments: TestDatabase.all)
    func refusals(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let revoked = try await seedApp(app, providers: ["sandbox"])
            try await APIKey.query(on: app.db).filter(\.$app.$id == revoked.id).set(\.$revokedAt, to: Date()).update()
            var wrongSignature = Self.headers(key: seeded.key)
            wrongSignature.replaceOrAdd(name: RequestSignature.Header.signature, value: String(repeating: "0", count: 64))
            var noNonce = Self.headers(key: seeded.key)
            noNonce.remove(name: RequestSignature.Header.nonce)

            let refusals: [(String, HTTPHeaders)] = [
                ("invalid_signature", wrongSignature),
                ("timestamp_out_of_range", Self.headers(key: seeded.key, timestamp: Date().addingTimeInterval(-301))),
                ("content_hash_mismatch", Self.headers(key: seeded.key, signedBody: Array("{}".utf8))),
                ("missing_signature", noNonce),
                ("invalid_key", Self.headers(key: ScopedKey.generate())),
                ("invalid_key", Self.headers(key: "ak_not-a-scoped-key")),
                ("key_revoked", Self.headers(key: revoked.key)),
            ]
            for (code, headers) in refusals {
                let answer = try await Self.send(app, headers)
                #expect(answer.status == .unauthorized, "\(code)")
                #expect(answer.code == code)
            }
            #expect(try await app.sessionCount() == 0)
            #expect(try await APIKey.query(on: app.db).filter(\.$lastUsedAt != nil).count() == 0)

            let signed = Self.headers(key: seeded.key)
            var responseHeaders = HTTPHeaders()
            try await app.testing().test(.POST, Self.path, headers: signed, body: ByteBuffer(bytes: Self.body)) { response async in
                #expect(response.status == .created)
                responseHeaders = response.headers
            }
            // The headers the SDK reads: the app as actor (it then signs with V2), a request id.
            #expect(responseHeaders.first(name: "X-Alter-Actor-ID") == seeded.id.uuidString.lowercased())
            #expect(responseHeaders.first(name: "X-Request-ID")?.isEmpty == false)
            let replay = try await Self.send(app, signed)
            #expect(replay.status == .unauthorized)
            #expect(replay.code == "nonce_reused")
            #expect(try await app.sessionCount() == 1)
        }
    }

    @Test("a nonce one instance accepted is refused by another instance on the same PostgreSQL",
        .enabled(if: TestDatabase.postgresURL != nil))
    func sharedNonces() async throws {
        try await withApp(database: .postgres) { first in
            let seeded = try await seedApp(first, providers: ["sandbox"])
            let second = try await Application.make(.testing)
            second.logger.logLevel = .warning
            do {
                try await configure(second, with: first.alterConfiguration)
                let signed = Self.headers(key: seeded.key)
                #expect(try await Self.send(first, signed).status == .created)
                let replay = try await Self.send(second, signed)
                #expect(replay.status == .unauthorized)
                #expect(replay.code == "nonce_reused")
                #expect(try await Self.send(second, Self.headers(key: seeded.key)).status == .created)
                #expect(try await first.sessionCount() == 2)
            } catch {
                try? await second.asyncShutdown()
                throw error
            }
            try await second.asyncShutdown()
        }
    }
}
