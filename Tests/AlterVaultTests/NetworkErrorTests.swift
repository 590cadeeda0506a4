import AlterVault
import Foundation
import Testing

@Suite("Network failures are not vault errors")
struct NetworkErrorTests {
    @Test("nobody listening is AlterVaultNetworkError(cannotConnect), retryable")
    func refused() async throws {
        // AsyncHTTPClient retries a refused connection until the deadline, hence the short timeout.
        let vault = AlterVault(apiKey: "ak_secret_key_value", baseURL: "http://127.0.0.1:\(try freePort())", timeout: .seconds(1))
        let error = try await #require(throws: AlterVaultNetworkError.self) {
            try await vault.createConnectSession()
        }
        #expect(error.reason == .cannotConnect)
        #expect(error.isRetryable)
        #expect(!error.description.contains("ak_secret_key_value"))
    }

    @Test("a vault that never answers is AlterVaultNetworkError(timedOut) after the timeout")
    func timeout() async throws {
        try await withSilentListener { port in
            let vault = AlterVault(apiKey: "ak_secret_key_value", baseURL: "http://127.0.0.1:\(port)", timeout: .milliseconds(300))
            let started = ContinuousClock.now
            let error = try await #require(throws: AlterVaultNetworkError.self) {
                try await vault.request(.GET, "https://example.com/", grantID: "g")
            }
            #expect(error.reason == .timedOut)
            // Far below the 30 s default, with room for a loaded CI machine: it did not hang.
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    @Test("a server that is not a vault answers unexpected_response, not a crash")
    func notAVault() async throws {
        try await withRunningVault { vault in
            // Every path lands on /healthz, which answers 200 with JSON that is not a grant list.
            let sdk = AlterVault(apiKey: vault.appKey, baseURL: vault.baseURL + "/healthz?", httpClient: vault.http)
            let error = try await #require(throws: AlterVaultError.self) {
                try await sdk.grants()
            }
            #expect(error.code == .unexpectedResponse)
            #expect(error.status == 200)
        }
    }
}
