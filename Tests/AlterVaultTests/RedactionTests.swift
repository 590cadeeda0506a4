import AlterVault
import Foundation
import Testing

@Suite("Secrets stay out of descriptions")
struct RedactionTests {
    static let key = "ak_R2D2C3POr2d2c3poR2D2C3POr2d2c3poR2D2C3POr2d"

    @Test("the client's description shows the ak_ prefix at most")
    func client() {
        let vault = AlterVault(apiKey: Self.key, caller: "billing", baseURL: "http://localhost:4000/")
        for text in [vault.description, vault.debugDescription, String(describing: vault), String(reflecting: vault), "\(vault)"] {
            #expect(!text.contains(Self.key))
            #expect(!text.contains("R2D2"))
        }
        var dumped = ""
        dump(vault, to: &dumped)
        #expect(!dumped.contains(Self.key))
        #expect(vault.description.contains("ak_…"))
        #expect(vault.baseURL == "http://localhost:4000")
    }

    @Test("an alter_rk_ key shows its prefix only")
    func scopedKey() {
        let key = "alter_rk_abcdefghijklmnopqrstuv_iwpykn"
        let vault = AlterVault(apiKey: key, baseURL: "http://localhost:4000")
        #expect(!vault.description.contains("abcdefghij"))
        #expect(vault.description.contains("alter_rk_…"))
    }

    @Test("a key without the ak_ prefix is not shown at all")
    func foreignKey() {
        let vault = AlterVault(apiKey: "sk_live_abcdef", baseURL: "http://localhost:4000")
        #expect(!vault.description.contains("sk_"))
    }

    @Test("a caller with a line break cannot inject a header")
    func callerSanitised() {
        let vault = AlterVault(apiKey: Self.key, caller: "app\r\nX-Evil: 1", baseURL: "http://localhost:4000")
        #expect(vault.caller == "appX-Evil: 1")
        let long = AlterVault(apiKey: Self.key, caller: String(repeating: "c", count: 300), baseURL: "http://localhost:4000")
        #expect(long.caller?.count == 100)
    }

    @Test("error and value descriptions carry no token, details or body")
    func values() {
        let error = AlterVaultError(code: .ambiguousGrant, message: "Several accounts match.", details: ["accounts": .array([.string("alice@x")])], status: 409)
        #expect(error.description == "ambiguous_grant (HTTP 409): Several accounts match.")
        let response = ProxyResponse(status: 200, headers: [:], body: Data("secret body".utf8))
        #expect(!response.description.contains("secret"))
        #expect(CredentialRevokedError(grantID: "g-1").description.contains("g-1"))
    }

    @Test("a minted session's description hides its token")
    func session() async throws {
        try await withRunningVault { vault in
            let session = try await vault.sdk().createConnectSession()
            #expect(!session.description.contains(session.sessionToken))
            #expect(!String(reflecting: session).contains(session.sessionToken))
            var dumped = ""
            dump(session, to: &dumped)
            #expect(!dumped.contains(session.sessionToken))
        }
    }
}
