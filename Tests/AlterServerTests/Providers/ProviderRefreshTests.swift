@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// Refresh against doubles, calling `OAuthClient.refresh` directly as the refresh
/// coordinator does.
@Suite("Provider refresh: rotation, revocation and per-response checks")
struct ProviderRefreshTests {
    static func config(_ provider: String, variables: [String: String]? = nil) -> ProviderConfig {
        let config = ProviderConfig()
        config.id = UUID()
        config.provider = provider
        config.clientID = "client-\(provider)"
        config.scopes = []
        config.enabled = true
        config.variables = variables
        return config
    }

    @Test("a rotating provider returns a new refresh token; the old one then gets invalid_grant")
    func rotation() async throws {
        let valid = Locked<Set<String>>(["r1"])
        try await withProviderDoubles({ app, base, log in
            let gitlab = try ProviderDouble("gitlab", app: app, base: base, log: log)
            gitlab.token { request in
                let presented = request.form["refresh_token"] ?? ""
                let next = valid.withValue { tokens -> String? in
                    guard request.form["grant_type"] == "refresh_token", tokens.remove(presented) != nil else { return nil }
                    let next = "r\(Int(presented.dropFirst())! + 1)"
                    tokens.insert(next)
                    return next
                }
                guard let next else {
                    return ProviderDouble.json(["error": "invalid_grant", "error_description": "The provided authorization grant is invalid"], status: .badRequest)
                }
                return ProviderDouble.json(["access_token": "at-\(next)", "refresh_token": next, "expires_in": 7200, "token_type": "Bearer"])
            }
            return [gitlab.entry]
        }) { app, _, log in
            let provider = try #require(app.providerCatalog["gitlab"])
            let client = app.oauthClient
            let config = Self.config("gitlab")

            let first = try await client.refresh("r1", provider: provider, config: config, clientSecret: "secret-gitlab")
            #expect(first.accessToken == "at-r2")
            #expect(first.refreshToken == "r2")
            #expect(first.expiresAt != nil)
            #expect(log.last("/oauth/token")?.form["client_secret"] == "secret-gitlab")

            let reused = await #expect(throws: ProviderError.self) {
                try await client.refresh("r1", provider: provider, config: config, clientSecret: "secret-gitlab")
            }
            #expect(reused?.error == "invalid_grant")
            #expect(reused?.isTransient == false)
            #expect(try await client.refresh("r2", provider: provider, config: config, clientSecret: "secret-gitlab").refreshToken == "r3")
        }
    }

    @Test("a grant keeps its refresh token when a refresh returns none, and stores a rotated one")
    func grantStoresRotation() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app, providers: [])
            let grant = Grant()
            grant.id = UUID()
            grant.$app.id = seeded.id
            grant.provider = "gitlab"
            grant.accountIdentifier = "alice"
            grant.userSubject = ""
            grant.scopes = []
            grant.status = .active
            try grant.store(ProviderTokens(accessToken: "a1", refreshToken: "r1"), using: app.sealer, at: Date())
            try grant.store(ProviderTokens(accessToken: "a2"), using: app.sealer, at: Date())
            #expect(try grant.refreshToken(using: app.sealer) == "r1")
            try grant.store(ProviderTokens(accessToken: "a3", refreshToken: "r2"), using: app.sealer, at: Date())
            #expect(try grant.refreshToken(using: app.sealer) == "r2")
            #expect(try grant.accessToken(using: app.sealer) == "a3")
        }
    }

    @Test("a provider outage while refreshing is transient; a bad instance_url on refresh is refused")
    func transientAndChecked() async throws {
        let mode = Locked("down")
        try await withProviderDoubles({ app, base, log in
            let salesforce = try ProviderDouble("salesforce", app: app, base: base, log: log)
            salesforce.token { _ in
                switch mode.withValue({ $0 }) {
                case "down": ProviderDouble.raw("upstream connect error", status: .serviceUnavailable, contentType: "text/plain")
                case "moved": ProviderDouble.json(["access_token": "at", "token_type": "Bearer", "instance_url": "https://attacker.example.com"])
                default: ProviderDouble.json(["access_token": "at2", "token_type": "Bearer", "instance_url": "https://acme2.my.salesforce.com"])
                }
            }
            return [salesforce.entry]
        }) { app, _, _ in
            let provider = try #require(app.providerCatalog["salesforce"])
            let client = app.oauthClient
            let config = Self.config("salesforce")

            let down = await #expect(throws: ProviderError.self) { try await client.refresh("rt", provider: provider, config: config, clientSecret: "s") }
            #expect(down?.isTransient == true)
            #expect(down?.error == "http_503")

            mode.withValue { $0 = "moved" }
            let moved = await #expect(throws: ProviderError.self) { try await client.refresh("rt", provider: provider, config: config, clientSecret: "s") }
            #expect(moved?.error == "invalid_token_response")
            #expect(moved?.isTransient == false)

            mode.withValue { $0 = "ok" }
            let tokens = try await client.refresh("rt", provider: provider, config: config, clientSecret: "s")
            #expect(tokens.variables == ["instance_url": "https://acme2.my.salesforce.com"])
            #expect(tokens.refreshToken == nil)
        }
    }
}
