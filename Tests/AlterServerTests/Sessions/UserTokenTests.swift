@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import JWTKit
import Testing
import Vapor
import VaporTesting

/// Signs user tokens the way an app's identity provider would.
struct TestIssuer {
    static let issuer = "https://id.example.com"
    static let audience = "alter-vault"
    let privateKey = ES256PrivateKey()

    var publicKeyPEM: String { privateKey.publicKey.pemRepresentation }

    struct Payload: JWTPayload {
        var sub: SubjectClaim?
        var iss: IssuerClaim?
        var aud: AudienceClaim?
        var exp: ExpirationClaim?
        var nbf: NotBeforeClaim?
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    func token(
        sub: String? = "user-42", iss: String? = issuer, aud: String? = audience,
        exp: Date? = Date().addingTimeInterval(300), nbf: Date? = nil, signWith other: ES256PrivateKey? = nil
    ) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: other ?? privateKey)
        let payload = Payload(
            sub: sub.map(SubjectClaim.init(value:)), iss: iss.map(IssuerClaim.init(value:)), aud: aud.map { AudienceClaim(value: [$0]) },
            exp: exp.map(ExpirationClaim.init(value:)), nbf: nbf.map(NotBeforeClaim.init(value:)))
        return try await keys.sign(payload)
    }

    func hmacToken() async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: "shared-secret-shared-secret-1234", digestAlgorithm: .sha256)
        return try await keys.sign(
            Payload(sub: .init(value: "user-42"), iss: .init(value: Self.issuer), aud: .init(value: [Self.audience]),
                exp: .init(value: Date().addingTimeInterval(300))))
    }

    func configure(_ app: ClientApp, on db: any Database) async throws {
        app.jwtIssuer = Self.issuer
        app.jwtAudience = Self.audience
        app.jwtPublicKeyPEM = publicKeyPEM
        try await app.update(on: db)
    }
}

@Suite("user_token verification")
struct UserTokenTests {
    @Test("a valid user_token binds only its sub to the session", arguments: TestDatabase.all)
    func bindsSubject(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let issuer = TestIssuer()
            let seeded = try await seedApp(app)
            try await issuer.configure(seeded.app, on: app.db)
            let token = try await issuer.token()

            let response = try await app.mintSession(key: seeded.key, body: ["user_token": token])

            #expect(response.status == .created)
            let session = try #require(try await ConnectSession.query(on: app.db).first())
            #expect(session.userSubject == "user-42")
        }
    }

    @Test("bad user tokens are refused with invalid_user_token and nothing is stored")
    func rejectsBadTokens() async throws {
        try await withApp { app in
            let issuer = TestIssuer()
            let seeded = try await seedApp(app)
            try await issuer.configure(seeded.app, on: app.db)
            let tokens: [(String, String)] = [
                ("expired", try await issuer.token(exp: Date().addingTimeInterval(-3600))),
                ("no exp", try await issuer.token(exp: nil)),
                ("not yet valid", try await issuer.token(nbf: Date().addingTimeInterval(3600))),
                ("wrong issuer", try await issuer.token(iss: "https://evil.example.com")),
                ("wrong audience", try await issuer.token(aud: "someone-else")),
                ("no sub", try await issuer.token(sub: nil)),
                ("other key", try await issuer.token(signWith: ES256PrivateKey())),
                ("HS256 not allowed", try await issuer.hmacToken()),
                ("garbage", "not.a.jwt"),
                ("two parts", "abc.def"),
                ("alg none", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTQyIn0."),
            ]
            for (label, token) in tokens {
                let response = try await app.mintSession(key: seeded.key, body: ["user_token": token])
                #expect(response.status == .unauthorized, "\(label)")
                #expect(response.errorCode == "invalid_user_token", "\(label)")
            }
            #expect(try await app.sessionCount() == 0)
        }
    }

    @Test("an app without JWT identity cannot send user_token")
    func identityNotConfigured() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            let response = try await app.mintSession(key: seeded.key, body: ["user_token": try await TestIssuer().token()])
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "identity_not_configured")
            #expect(try await app.sessionCount() == 0)
        }
    }
}
