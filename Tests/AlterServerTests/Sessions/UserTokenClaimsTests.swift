@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import JWTKit
import NIOConcurrencyHelpers
import Testing
import Vapor
import VaporTesting

/// Tokens with the header and claims a test chooses: `typ`, `kid`, several audiences, `azp`.
struct ShapedToken {
    struct Payload: JWTPayload {
        var sub = SubjectClaim(value: "user-42")
        var iss = IssuerClaim(value: TestIssuer.issuer)
        var aud: AudienceClaim?
        var exp = ExpirationClaim(value: Date().addingTimeInterval(300))
        var azp: String?
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func sign(
        with key: ES256PrivateKey, kid: String? = nil, typ: String? = "JWT", aud: [String]? = [TestIssuer.audience], azp: String? = nil
    ) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: kid.map { JWKIdentifier(string: $0) })
        var header = JWTHeader()
        header.typ = typ
        return try await keys.sign(Payload(aud: aud.map { AudienceClaim(value: $0) }, azp: azp), kid: kid.map { JWKIdentifier(string: $0) }, header: header)
    }
}

@Suite("user_token audience, type and authorized party")
struct UserTokenClaimsTests {
    @Test("an identity without an audience takes no user token until the operator opts out explicitly")
    func audienceRequired() async throws {
        try await withApp { app in
            let issuer = TestIssuer()
            let (unset, optedOut) = (try await seedApp(app), try await seedApp(app))
            for seeded in [unset, optedOut] {
                try await issuer.configure(seeded.app, on: app.db)
                seeded.app.jwtAudience = nil
                seeded.app.jwtAnyAudience = seeded.id == optedOut.id ? true : nil
                try await seeded.app.update(on: app.db)
            }
            // The token an issuer made for some other site (review F10's replay).
            let token = try await issuer.token(aud: "another-sites-client")

            let refused = try await app.mintSession(key: unset.key, body: ["user_token": token])
            #expect(refused.status == .badRequest)
            #expect(refused.errorCode == "identity_not_configured")
            #expect(try await app.sessionCount() == 0)
            let accepted = try await app.mintSession(key: optedOut.key, body: ["user_token": token])
            #expect(accepted.status == .created)
        }
    }

    @Test("a typ header, where set, must say the token is a JWT or an access or ID token", arguments: [
        ("JWT", true), ("jwt", true), ("at+jwt", true), ("application/at+jwt", true), ("id_token+jwt", true),
        ("logout+jwt", false), ("dpop+jwt", false), ("secevent+jwt", false), ("application/jose", false),
    ])
    func types(typ: String, accepted: Bool) async throws {
        try await withApp { app in
            let issuer = TestIssuer()
            let seeded = try await seedApp(app)
            try await issuer.configure(seeded.app, on: app.db)

            let response = try await app.mintSession(key: seeded.key, body: ["user_token": try await ShapedToken.sign(with: issuer.privateKey, typ: typ)])

            #expect(response.status == (accepted ? .created : .unauthorized))
            #expect(try await app.sessionCount() == (accepted ? 1 : 0))
            if !accepted { #expect(response.errorCode == "invalid_user_token") }
        }
    }

    @Test("azp is checked where set: against the configured party, or against the audience when there are several", arguments: [
        ("web-client", [TestIssuer.audience], "web-client", true), ("web-client", [TestIssuer.audience], "other-client", false),
        ("web-client", [TestIssuer.audience], nil, false),
        (nil, [TestIssuer.audience, "other-api"], TestIssuer.audience, true), (nil, [TestIssuer.audience, "other-api"], "other-api", false),
        (nil, [TestIssuer.audience], "some-client", true), (nil, [TestIssuer.audience, "other-api"], nil, true),
    ] as [(String?, [String], String?, Bool)])
    func authorizedParty(configured: String?, audiences: [String], azp: String?, accepted: Bool) async throws {
        try await withApp { app in
            let issuer = TestIssuer()
            let seeded = try await seedApp(app)
            try await issuer.configure(seeded.app, on: app.db)
            seeded.app.jwtAuthorizedParty = configured
            try await seeded.app.update(on: app.db)

            let token = try await ShapedToken.sign(with: issuer.privateKey, aud: audiences, azp: azp)
            let response = try await app.mintSession(key: seeded.key, body: ["user_token": token])

            #expect(response.status == (accepted ? .created : .unauthorized))
            #expect(try await app.sessionCount() == (accepted ? 1 : 0))
        }
    }

    @Test("after the issuer rotates its keys, a token with the new kid verifies at once; unknown kids refetch at most once per interval")
    func jwksRefetch() async throws {
        let (first, second, forged) = (ES256PrivateKey(), ES256PrivateKey(), ES256PrivateKey())
        func jwk(_ key: ES256PrivateKey, kid: String) throws -> String {
            let parameters = try #require(key.publicKey.parameters)
            return "{\"kid\":\"\(kid)\",\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"x\":\"\(parameters.x)\",\"y\":\"\(parameters.y)\"}"
        }
        let document = NIOLockedValueBox("{\"keys\":[\(try jwk(first, kid: "k1"))]}")
        let fetches = NIOLockedValueBox(0)
        try await withRunningApp(routes: { app in
            app.get("issuer", "jwks.json") { _ in
                fetches.withLockedValue { $0 += 1 }
                return document.withLockedValue { $0 }
            }
        }) { app, browser in
            let seeded = try await seedApp(app)
            seeded.app.jwtIssuer = TestIssuer.issuer
            seeded.app.jwtAudience = TestIssuer.audience
            seeded.app.jwtJWKSURL = browser.baseURL + "/issuer/jwks.json"
            try await seeded.app.update(on: app.db)
            func mint(_ token: String) async throws -> Int {
                try await browser.postJSON("/v1/connect/sessions", ["user_token": token], headers: [("Authorization", "Bearer \(seeded.key)")]).status
            }

            #expect(try await mint(try await ShapedToken.sign(with: first, kid: "k1")) == 201)
            #expect(try await mint(try await ShapedToken.sign(with: first, kid: "k1")) == 201)
            #expect(fetches.withLockedValue { $0 } == 1)

            document.withLockedValue { $0 = "{\"keys\":[\(try! jwk(second, kid: "k2"))]}" }
            #expect(try await mint(try await ShapedToken.sign(with: second, kid: "k2")) == 201)
            #expect(fetches.withLockedValue { $0 } == 2)

            // A made-up kid within the interval: refused without another fetch.
            #expect(try await mint(try await ShapedToken.sign(with: forged, kid: "k3")) == 401)
            #expect(try await mint(try await ShapedToken.sign(with: forged, kid: "k4")) == 401)
            #expect(fetches.withLockedValue { $0 } == 2)
            #expect(try await mint(try await ShapedToken.sign(with: second, kid: "k2")) == 201)
            #expect(fetches.withLockedValue { $0 } == 2)
        }
    }
}
