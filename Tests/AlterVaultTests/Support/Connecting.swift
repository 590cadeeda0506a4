import AlterVault
import Foundation

/// Runs `body` with a vault and a grant that Alice connected through the sandbox.
func withConnectedGrant(_ body: (RunningVault, String) async throws -> Void) async throws {
    try await withRunningVault { vault in
        try await body(vault, try await connect(vault))
    }
}

/// Mints a session with the SDK and completes it at the sandbox as `account`; returns the grant id.
func connect(_ vault: RunningVault, userToken: String? = nil, account: String = "alice@sandbox.test") async throws -> String {
    let session = try await vault.sdk().createConnectSession(
        allowedProviders: ["sandbox"], allowedOrigin: "http://localhost:4001", userToken: userToken)
    let user = SandboxUser(baseURL: vault.baseURL)
    defer { Task { try? await user.close() } }
    return try await user.connect(sessionToken: session.sessionToken, account: account).grantID
}

/// Connects a grant whose access token then expires while the provider refuses its refresh
/// token (the user revoked the app there): the vault's next refresh fails with `invalid_grant`.
func connectThenRevokeAtProvider(_ vault: RunningVault) async throws -> String {
    // Short enough to expire once the clock moves; long enough to survive the connect flow.
    try await vault.sandboxControl(["access_token_ttl": 30])
    let grantID = try await connect(vault)
    try await vault.sandboxControl(["revoke_refresh": true])
    vault.clock.advance(by: 120)
    return grantID
}
