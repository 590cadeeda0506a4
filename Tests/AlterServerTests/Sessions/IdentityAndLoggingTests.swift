@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import JWTKit
import Logging
import NIOConcurrencyHelpers
import Testing
import Vapor

/// Collects every log line an app writes, to check that no secret ends up in one.
final class LogCapture: LogHandler, @unchecked Sendable {
    let lines = NIOLockedValueBox<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let all = self.metadata.merging(metadata ?? [:]) { $1 }
        lines.withLockedValue { $0.append("\(message) \(all)") }
    }
}

@Suite("JWKS identity and log hygiene")
struct IdentityAndLoggingTests {
    @Test("user tokens verify against the app's JWKS URL, and a token from another key is refused")
    func jwks() async throws {
        let issuer = TestIssuer()
        let parameters = try #require(issuer.privateKey.publicKey.parameters)
        let jwks = "{\"keys\":[{\"kid\":\"k1\",\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"use\":\"sig\",\"x\":\"\(parameters.x)\",\"y\":\"\(parameters.y)\"}]}"
        try await withRunningApp(routes: { app in
            app.get("issuer", "jwks.json") { _ in jwks }
        }) { app, browser in
            let seeded = try await seedApp(app)
            seeded.app.jwtIssuer = TestIssuer.issuer
            seeded.app.jwtAudience = TestIssuer.audience
            seeded.app.jwtJWKSURL = browser.baseURL + "/issuer/jwks.json"
            try await seeded.app.update(on: app.db)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)

            _ = try await flow.mint(["allowed_origin": "http://localhost:4001", "user_token": try await issuer.token(sub: "jwks-user")])
            let refused = try await browser.postJSON(
                "/v1/connect/sessions", ["user_token": try await issuer.token(signWith: ES256PrivateKey())], headers: [("Authorization", "Bearer \(seeded.key)")])

            #expect(try await ConnectSession.query(on: app.db).first()?.userSubject == "jwks-user")
            #expect(refused.status == 401)
            #expect(try await ConnectSession.query(on: app.db).count() == 1)
        }
    }

    @Test("logs never contain app keys, session tokens, OAuth codes, state or provider tokens")
    func logsHoldNoSecrets() async throws {
        let capture = LogCapture()
        try await withRunningApp(adjust: { _ in }) { app, browser in
            // The most verbose level the server allows (configure raises trace to debug).
            app.logger = Logger(label: "test", factory: { _ in capture })
            app.logger.logLevel = .debug
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let token = try await flow.mint(["allowed_origin": "http://localhost:4001"])
            let consent = try await flow.startOAuth(from: try await flow.open(token))
            let form = HTMLForm(html: consent.body)
            var fields = form.fields
            if let allow = form.button(id: "allow") { fields.append(allow) }
            let decision = try await browser.postForm("/sandbox/oauth/decision", fields)
            let callback = try #require(decision.location)
            _ = try await browser.follow(try await browser.get(callback))
            let grant = try #require(try await Grant.query(on: app.db).first())

            let query = URLComponents(string: callback)?.queryItems ?? []
            let secrets = [seeded.key, token, try grant.accessToken(using: app.sealer), try #require(try grant.refreshToken(using: app.sealer))]
                + query.filter { ["code", "state"].contains($0.name) }.compactMap(\.value)
            let lines = capture.lines.withLockedValue { $0 }
            #expect(lines.contains { $0.contains("/oauth/callback") })
            for (index, secret) in secrets.enumerated() {
                let leaks = lines.filter { $0.contains(secret) }.map { String($0.prefix(300)) }
                #expect(leaks.isEmpty, "secret #\(index) reached the logs: \(leaks.prefix(2))")
            }
        }
    }
}
