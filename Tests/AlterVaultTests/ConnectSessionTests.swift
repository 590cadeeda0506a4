import AlterVault
import Foundation
import Testing

@Suite("Minting Connect sessions with the SDK")
struct ConnectSessionTests {
    @Test("a minted session has a cs_ token, the hosted URL and expires in ten minutes")
    func mint() async throws {
        try await withRunningVault { vault in
            let session = try await vault.sdk().createConnectSession(
                allowedProviders: ["sandbox"], allowedOrigin: "http://localhost:4001", returnURL: "http://localhost:4001/settings")

            #expect(session.sessionToken.hasPrefix("cs_"))
            #expect(session.sessionToken.count == 3 + 43)
            #expect(session.connectURL == vault.baseURL + "/connect?token=" + session.sessionToken)
            // The wire has whole seconds; the vault's clock is the test's.
            #expect(abs(session.expiresAt.timeIntervalSince(vault.clock.now) - 600) < 1)
            #expect(try await vault.sessionCount() == 1)
        }
    }

    @Test("every parameter is optional: the app's website_url and all its providers apply")
    func defaults() async throws {
        try await withRunningVault { vault in
            let session = try await vault.sdk().createConnectSession()
            #expect(session.sessionToken.hasPrefix("cs_"))
        }
    }

    @Test("a minted token completes a real OAuth flow through the sandbox")
    func tokenWorksWithTheWidgetFlow() async throws {
        try await withRunningVault { vault in
            let session = try await vault.sdk().createConnectSession(allowedProviders: ["sandbox"], allowedOrigin: "http://localhost:4001")
            let user = SandboxUser(baseURL: vault.baseURL)
            defer { Task { try? await user.close() } }

            let grant = try await user.connect(sessionToken: session.sessionToken)

            #expect(grant.operation == "creation")
            #expect(grant.accountIdentifier == "alice@sandbox.test")
        }
    }

    @Test("a path in allowed_origin throws invalid_origin (400) and stores nothing")
    func invalidOrigin() async throws {
        try await withRunningVault { vault in
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().createConnectSession(allowedOrigin: "http://localhost:4001/app")
            }
            #expect(error.code == .invalidOrigin)
            #expect(error.status == 400)
            #expect(!error.isRetryable)
            #expect(try await vault.sessionCount() == 0)
        }
    }

    @Test("a return_url on another origin throws invalid_return_url and stores nothing")
    func invalidReturnURL() async throws {
        try await withRunningVault { vault in
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().createConnectSession(allowedOrigin: "http://localhost:4001", returnURL: "https://evil.example/")
            }
            #expect(error.code == .invalidReturnURL)
            #expect(error.status == 400)
            #expect(try await vault.sessionCount() == 0)
        }
    }

    @Test("only unconfigured providers throws no_providers with the configured ones in details")
    func noProviders() async throws {
        try await withRunningVault { vault in
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().createConnectSession(allowedProviders: ["github"])
            }
            #expect(error.code == .noProviders)
            #expect(error.status == 400)
            #expect(error.details["configured"]?.stringValue == "sandbox,sandbox-mail")
            #expect(try await vault.sessionCount() == 0)
        }
    }

    @Test("a user_token for an app without identity throws identity_not_configured")
    func identityNotConfigured() async throws {
        try await withRunningVault { vault in
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().createConnectSession(userToken: "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl")
            }
            #expect(error.code == .identityNotConfigured)
            #expect(error.status == 400)
            #expect(try await vault.sessionCount() == 0)
        }
    }

    @Test("an unknown app key throws unauthorized (401) and stores nothing")
    func unauthorized() async throws {
        try await withRunningVault { vault in
            let wrongKey = "ak_" + String(repeating: "A", count: 43)
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk(key: wrongKey).createConnectSession()
            }
            #expect(error.code == .unauthorized)
            #expect(error.status == 401)
            #expect(!error.description.contains(wrongKey))
            #expect(try await vault.sessionCount() == 0)
        }
    }

    @Test("a bad agent name throws invalid_request")
    func invalidAgent() async throws {
        try await withRunningVault { vault in
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().createConnectSession(agent: "no spaces allowed")
            }
            #expect(error.code == .invalidRequest)
            #expect(try await vault.sessionCount() == 0)
        }
    }
}
