@testable import AlterServer
import AlterVault
import Fluent
import FluentKit
import Foundation
import JWTKit
import Testing

/// The `userToken:provider:` variant of `vault.request`, for apps with JWT identity: the
/// vault finds the user's grant from the token's `sub`.
@Suite("Calling APIs by user token")
struct IdentityTests {
    @Test("a user's token and the provider find the user's grant")
    func findsGrant() async throws {
        try await withIdentity { vault, issuer in
            let userToken = try await issuer.token(sub: "user-42")
            let grantID = try await connect(vault, userToken: userToken)

            let response = try await vault.sdk().request(
                .GET, vault.baseURL + "/sandbox/api/me", userToken: userToken, provider: "sandbox")

            #expect(response.status == 200)
            #expect(response.grantID == grantID)
            #expect(try await vault.sdk().grants(user: "user-42").map(\.grantID) == [grantID])
            #expect(try await vault.sdk().grants(user: "someone-else").isEmpty)
        }
    }

    @Test("two accounts at one provider: ambiguous_grant, then account_identifier picks one")
    func ambiguous() async throws {
        try await withIdentity { vault, issuer in
            let userToken = try await issuer.token(sub: "user-42")
            _ = try await connect(vault, userToken: userToken, account: "alice@sandbox.test")
            let bob = try await connect(vault, userToken: userToken, account: "bob@sandbox.test")

            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().request(.GET, vault.baseURL + "/sandbox/api/me", userToken: userToken, provider: "sandbox")
            }
            #expect(error.code == .ambiguousGrant)
            #expect(error.status == 409)
            #expect(error.details["accounts"] != nil)

            let response = try await vault.sdk().request(
                .GET, vault.baseURL + "/sandbox/api/me", userToken: userToken, provider: "sandbox", accountIdentifier: "bob@sandbox.test")
            #expect(response.grantID == bob)
        }
    }

    @Test("a token signed by someone else throws invalid_user_token")
    func forged() async throws {
        try await withIdentity { vault, issuer in
            let forged = try await issuer.token(sub: "user-42", signWith: ES256PrivateKey())
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().request(.GET, vault.baseURL + "/sandbox/api/me", userToken: forged, provider: "sandbox")
            }
            #expect(error.code == .invalidUserToken)
            #expect(error.status == 401)
            #expect(!error.description.contains(forged))
        }
    }
}

/// A running vault whose app verifies user tokens from `issuer`.
private func withIdentity(_ body: (RunningVault, Issuer) async throws -> Void) async throws {
    try await withRunningVault { vault in
        let issuer = Issuer()
        let app = try #require(try await ClientApp.find(vault.appID, on: vault.app.db))
        app.jwtIssuer = Issuer.issuer
        app.jwtAudience = Issuer.audience
        app.jwtPublicKeyPEM = issuer.privateKey.publicKey.pemRepresentation
        try await app.update(on: vault.app.db)
        try await body(vault, issuer)
    }
}

/// Signs user tokens as an app's identity provider would (ES256).
private struct Issuer {
    static let issuer = "https://id.example.com"
    static let audience = "alter-vault"
    let privateKey = ES256PrivateKey()

    struct Payload: JWTPayload {
        var sub: SubjectClaim
        var iss: IssuerClaim
        var aud: AudienceClaim
        var exp: ExpirationClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    func token(sub: String, signWith other: ES256PrivateKey? = nil) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: other ?? privateKey)
        return try await keys.sign(Payload(
            sub: .init(value: sub), iss: .init(value: Self.issuer), aud: .init(value: [Self.audience]),
            exp: .init(value: Date().addingTimeInterval(300))))
    }
}
