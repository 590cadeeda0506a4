import AlterVault
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite("Grants and tokens through the SDK")
struct GrantTests {
    @Test("grants lists the connected grant, grant(id:) reads it")
    func listAndRead() async throws {
        try await withConnectedGrant { vault, grantID in
            let sdk = vault.sdk()
            let listed = try await sdk.grants(provider: "sandbox")
            #expect(listed.map(\.grantID) == [grantID])
            #expect(try await sdk.grants(provider: "sandbox-mail").isEmpty)

            let grant = try await sdk.grant(id: grantID)
            #expect(grant.provider == "sandbox")
            #expect(grant.accountIdentifier == "alice@sandbox.test")
            #expect(grant.status == .active)
            #expect(grant.agents.isEmpty)
        }
    }

    @Test("revoke deletes the grant; reading it afterwards throws grant_revoked")
    func revoke() async throws {
        try await withConnectedGrant { vault, grantID in
            let sdk = vault.sdk()
            let revoked = try await sdk.revoke(grantID: grantID)
            #expect(revoked.grantID == grantID)

            let error = try await #require(throws: AlterVaultError.self) { try await sdk.grant(id: grantID) }
            #expect(error.code == .grantRevoked)
            #expect(try await sdk.grants().isEmpty)
        }
    }

    @Test("accessToken returns a Bearer token the provider accepts, hidden from its description")
    func accessToken() async throws {
        try await withConnectedGrant { vault, grantID in
            let token = try await vault.sdk().accessToken(grantID: grantID)
            #expect(token.tokenType == "Bearer")
            #expect(!token.description.contains(token.token))

            var request = HTTPClientRequest(url: vault.baseURL + "/sandbox/api/me")
            request.headers.add(name: "Authorization", value: "Bearer " + token.token)
            let response = try await vault.http.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
        }
    }

    @Test("accessToken for a revoked refresh token throws CredentialRevokedError")
    func accessTokenRevoked() async throws {
        try await withRunningVault { vault in
            let grantID = try await connectThenRevokeAtProvider(vault)

            let error = try await #require(throws: CredentialRevokedError.self) {
                try await vault.sdk().accessToken(grantID: grantID)
            }
            #expect(error.grantID == grantID)
        }
    }

    @Test("a grant id with path characters is escaped, not a path")
    func escapedID() async throws {
        try await withRunningVault { vault in
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().grant(id: "../connect/sessions")
            }
            #expect(error.status == 404)
        }
    }
}
