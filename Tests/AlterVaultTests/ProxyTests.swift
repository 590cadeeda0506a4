import AlterVault
import Foundation
import Testing

/// `vault.request` through `POST /v1/request` to the sandbox provider's API, with a grant made
/// by a real OAuth flow.
@Suite("Calling provider APIs through the vault")
struct ProxyTests {
    struct Events: Decodable {
        struct Event: Decodable { let id: String; let title: String }
        let account: String
        let events: [Event]
    }

    @Test("a proxied GET returns the sandbox calendar of the connected account")
    func calendar() async throws {
        try await withConnectedGrant { vault, grantID in
            let response = try await vault.sdk().request(.GET, vault.baseURL + "/sandbox/api/calendar/events", grantID: grantID)

            #expect(response.status == 200)
            let events = try response.json(Events.self)
            #expect(events.account == "alice@sandbox.test")
            #expect(events.events.map(\.id) == ["evt_1", "evt_2", "evt_3"])
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(response.grantID == grantID)
        }
    }

    @Test("headers and a body reach the provider; the caller's Authorization does not")
    func echo() async throws {
        try await withConnectedGrant { vault, grantID in
            let response = try await vault.sdk().request(
                .POST, vault.baseURL + "/sandbox/api/echo", grantID: grantID,
                headers: ["X-Trace": "abc", "Authorization": "Bearer stolen", "Content-Type": "text/plain"],
                body: Data("hello provider".utf8))

            #expect(response.status == 200)
            let echo = try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
            #expect(echo["method"] as? String == "POST")
            #expect(echo["body"] as? String == "hello provider")
            #expect((echo["headers"] as? [String: String])?["x-trace"] == "abc")
            // The vault put the grant's token in; the sandbox accepted it (else 401).
            #expect((echo["authorization"] as? [String: Any])?["scheme"] as? String == "Bearer")
        }
    }

    @Test("a provider's 404 is a response, not an error")
    func upstreamStatusIsAResponse() async throws {
        try await withConnectedGrant { vault, grantID in
            let response = try await vault.sdk().request(.GET, vault.baseURL + "/sandbox/api/status/404", grantID: grantID)
            #expect(response.status == 404)
            #expect(!response.isSuccess)
            #expect(response.text.contains("404"))
        }
    }

    @Test("a URL off the provider's allow-list throws host_not_allowed")
    func hostNotAllowed() async throws {
        try await withConnectedGrant { vault, grantID in
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().request(.GET, "https://example.com/steal", grantID: grantID)
            }
            #expect(error.code == .hostNotAllowed)
            #expect(error.status == 400)
        }
    }

    @Test("an unknown grant id throws grant_not_found")
    func unknownGrant() async throws {
        try await withRunningVault { vault in
            let error = try await #require(throws: AlterVaultError.self) {
                try await vault.sdk().request(.GET, vault.baseURL + "/sandbox/api/me", grantID: UUID().uuidString.lowercased())
            }
            #expect(error.code == .grantNotFound)
            #expect(error.status == 404)
        }
    }

    @Test("a revoked refresh token throws CredentialRevokedError; reconnecting with repairGrantID is a reauth of the same grant")
    func revoked() async throws {
        try await withRunningVault { vault in
            let grantID = try await connectThenRevokeAtProvider(vault)

            let error = try await #require(throws: CredentialRevokedError.self) {
                try await vault.sdk().request(.GET, vault.baseURL + "/sandbox/api/calendar/events", grantID: grantID)
            }
            #expect(error.grantID == grantID)
            #expect(try await vault.sdk().grant(id: grantID).status == .error)

            // What the seeds promise: the same widget flow again comes back as reauth, same id.
            try await vault.sandboxControl(["reset": true])
            let user = SandboxUser(baseURL: vault.baseURL)
            defer { Task { try? await user.close() } }
            let session = try await vault.sdk().createConnectSession(
                allowedProviders: ["sandbox"], allowedOrigin: "http://localhost:4001", repairGrantID: grantID)
            let again = try await user.connect(sessionToken: session.sessionToken)
            #expect(again.operation == "reauth")
            #expect(again.grantID == grantID)
            // The backend reads the same from the session it minted.
            let result = try await vault.sdk().connectSessionResult(sessionToken: session.sessionToken)
            #expect(result.status == .completed)
            #expect(result.grants.map(\.grantID) == [grantID])
            #expect(result.grants.first?.operation == "reauth")
            let response = try await vault.sdk().request(.GET, vault.baseURL + "/sandbox/api/calendar/events", grantID: grantID)
            #expect(response.status == 200)
        }
    }

    @Test("each proxied call is in the audit log with the caller, host and status")
    func audited() async throws {
        try await withConnectedGrant { vault, grantID in
            _ = try await vault.sdk(caller: "calendar-sync").request(.GET, vault.baseURL + "/sandbox/api/calendar/events", grantID: grantID)

            let events = try await vault.sdk().audit(grantID: grantID, limit: 10)
            let proxied = try #require(events.first { $0.action == .proxy })
            #expect(proxied.grantID == grantID)
            #expect(proxied.caller == "calendar-sync")
            #expect(proxied.method == "GET")
            #expect(proxied.host == "localhost")
            #expect(proxied.status == 200)
        }
    }
}
