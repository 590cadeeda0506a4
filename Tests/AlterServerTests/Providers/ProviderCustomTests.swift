@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOCore
import Testing
import Vapor
import VaporTesting

/// Custom providers: discovery, the entry built from `add-custom`'s options, and one app's
/// view of the catalog (its own providers, nobody else's).
@Suite("Custom providers per app")
struct ProviderCustomTests {
    static func input(_ change: (inout CustomProviderInput) -> Void = { _ in }) -> CustomProviderInput {
        var input = CustomProviderInput(
            id: "my-idp", name: "My IdP", authorizationURL: "https://idp.example.com/oauth/authorize",
            tokenURL: "https://idp.example.com/oauth/token", userinfoURL: "https://idp.example.com/userinfo",
            apiHosts: ["https://api.example.com"], scopes: ["read"])
        change(&input)
        return input
    }

    static let metadata = ProviderDiscovery.Metadata(
        issuer: "https://idp.example.com", authorizationEndpoint: "https://idp.example.com/authorize",
        tokenEndpoint: "https://idp.example.com/token", revocationEndpoint: "https://idp.example.com/revoke",
        userinfoEndpoint: "https://idp.example.com/userinfo", responseTypesSupported: ["code"],
        codeChallengeMethodsSupported: ["S256"], tokenEndpointAuthMethodsSupported: ["client_secret_post"])

    // MARK: - The entry add-custom builds

    @Test("explicit URLs make an entry with PKCE, Basic client auth and the sub claim by default")
    func explicitURLs() throws {
        let entry = try Self.input().entry(discovered: nil)
        #expect(entry.pkce && entry.clientAuth == .basic && entry.refresh)
        #expect(entry.userinfo?.accountIdentifier == "sub")
        #expect(entry.isCustom && !entry.allowsPrivateNetwork)
        #expect(entry.defaultScopes == ["read"])
        #expect(entry.category == "custom")
    }

    @Test("discovery fills what was not given; explicit options win")
    func discoveryFills() throws {
        let entry = try Self.input { $0.authorizationURL = nil; $0.tokenURL = nil; $0.userinfoURL = nil }.entry(discovered: Self.metadata)
        #expect(entry.authorizationURL == "https://idp.example.com/authorize")
        #expect(entry.revocationURL == "https://idp.example.com/revoke")
        #expect(entry.clientAuth == .post)
        #expect(entry.issuer == "https://idp.example.com")
        let overridden = try Self.input { $0.clientAuth = .basic }.entry(discovered: Self.metadata)
        #expect(overridden.authorizationURL == "https://idp.example.com/oauth/authorize")
        #expect(overridden.clientAuth == .basic)
    }

    @Test("a server whose metadata says it sends iss on authorization responses must send it (RFC 9207 §3)", arguments: [
        (true as Bool?, true), (false, false), (nil, false),
    ])
    func issuerParameter(advertised: Bool?, required: Bool) throws {
        let json = #"{"issuer":"https://idp.example.com","authorization_endpoint":"https://idp.example.com/authorize","token_endpoint":"https://idp.example.com/token","userinfo_endpoint":"https://idp.example.com/userinfo""#
            + (advertised.map { ",\"authorization_response_iss_parameter_supported\":\($0)" } ?? "") + "}"
        let metadata = try ProviderDiscovery.parse(Data(json.utf8), expectedIssuer: "https://idp.example.com")
        let entry = try Self.input { $0.authorizationURL = nil; $0.tokenURL = nil; $0.userinfoURL = nil }.entry(discovered: metadata)
        #expect(entry.requiresIssuerParameter == required)
        // Stored and read back as the app's custom provider, the rule stays.
        let row = CustomProvider()
        try row.store(entry)
        #expect(row.entry?.requiresIssuerParameter == required)
    }

    struct Refusal: CustomTestStringConvertible, Sendable {
        let name: String
        let expected: String
        let discovered: ProviderDiscovery.Metadata?
        let change: @Sendable (inout CustomProviderInput) -> Void
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        .init(name: "no userinfo", expected: "needs --userinfo-url", discovered: nil) { $0.userinfoURL = nil },
        .init(name: "no token URL", expected: "needs --token-url", discovered: nil) { $0.tokenURL = nil },
        .init(name: "http without the private-network flag", expected: "must be an absolute https URL", discovered: nil) {
            $0.tokenURL = "http://idp.example.com/token"
        },
        .init(name: "a loopback host without the flag", expected: "pass --allow-private-network", discovered: nil) {
            $0.tokenURL = "https://127.0.0.1:8443/token"
        },
        .init(name: "a private address without the flag", expected: "pass --allow-private-network", discovered: nil) {
            $0.userinfoURL = "https://10.1.2.3/userinfo"
        },
        .init(name: "localhost without the flag", expected: "pass --allow-private-network", discovered: nil) { $0.apiHosts = ["https://localhost:9000"] },
        .init(name: "an API host with a path", expected: "must be scheme + host only", discovered: nil) { $0.apiHosts = ["https://api.example.com/v1"] },
        .init(name: "no API host", expected: "api_hosts must list at least one origin", discovered: nil) { $0.apiHosts = [] },
        .init(name: "a bad id", expected: "id must be", discovered: nil) { $0.id = "My IdP" },
        .init(
            name: "discovery without S256", expected: "does not list S256",
            discovered: .init(issuer: "https://idp.example.com", codeChallengeMethodsSupported: ["plain"])
        ) { _ in },
        .init(
            name: "discovery with no usable client authentication", expected: "neither client_secret_basic nor client_secret_post",
            discovered: .init(issuer: "https://idp.example.com", tokenEndpointAuthMethodsSupported: ["private_key_jwt"])
        ) { _ in },
    ]

    @Test("add-custom refuses entries that could not work safely", arguments: refusals)
    func refused(refusal: Refusal) {
        let error = #expect(throws: CatalogViolation.self) { try Self.input(refusal.change).entry(discovered: refusal.discovered) }
        #expect(error?.rule.contains(refusal.expected) == true, "\(error?.rule ?? "nothing thrown")")
    }

    @Test("with --allow-private-network, a loopback http server is accepted (tests only)")
    func privateNetwork() throws {
        let entry = try Self.input {
            $0.allowsPrivateNetwork = true
            $0.tokenURL = "http://127.0.0.1:8000/o/token/"
            $0.apiHosts = ["http://127.0.0.1:8000"]
        }.entry(discovered: nil)
        #expect(entry.allowsPrivateNetwork)
    }

    // MARK: - Discovery

    @Test(
        "the issuer a discovery URL stands for (RFC 8414 §3, OIDC Discovery §4)",
        arguments: [
            ("https://idp.example.com/.well-known/openid-configuration", "https://idp.example.com"),
            ("https://idp.example.com/tenant/.well-known/openid-configuration", "https://idp.example.com/tenant"),
            ("https://idp.example.com/.well-known/oauth-authorization-server", "https://idp.example.com"),
            ("https://idp.example.com/.well-known/oauth-authorization-server/tenant", "https://idp.example.com/tenant"),
            ("https://idp.example.com:8443/o/.well-known/oauth-authorization-server", "https://idp.example.com:8443/o"),
            ("https://idp.example.com/.well-known/openid-configuration/", "https://idp.example.com"),
        ])
    func expectedIssuer(url: String, issuer: String) throws {
        #expect(try ProviderDiscovery.expectedIssuer(for: url, allowsHTTP: false) == issuer)
    }

    @Test(
        "discovery URLs that are refused before any request",
        arguments: [
            "http://idp.example.com/.well-known/openid-configuration", "https://idp.example.com/metadata.json",
            "https://idp.example.com/.well-known/openid-configuration?x=1", "https://idp.example.com/a/.well-known/oauth-authorization-server/b",
            "https://user:pw@idp.example.com/.well-known/openid-configuration", "not a url",
        ])
    func refusedDiscoveryURL(url: String) {
        #expect(throws: ProviderDiscovery.Failure.self) { try ProviderDiscovery.expectedIssuer(for: url, allowsHTTP: false) }
    }

    @Test("a discovery document from another issuer is refused (RFC 8414 §3.3)")
    func issuerMismatch() {
        let document = Data(#"{"issuer":"https://evil.example.com","authorization_endpoint":"https://evil.example.com/a"}"#.utf8)
        let error = #expect(throws: ProviderDiscovery.Failure.self) { try ProviderDiscovery.parse(document, expectedIssuer: "https://idp.example.com") }
        #expect(error?.description.contains("RFC 8414 §3.3") == true)
        #expect(throws: ProviderDiscovery.Failure.self) {
            try ProviderDiscovery.parse(Data(#"{"issuer":"https://idp.example.com","response_types_supported":["token"]}"#.utf8), expectedIssuer: "https://idp.example.com")
        }
    }

    @Test("discovery over HTTP: a good document, another issuer, an oversized one, a slow one, a redirect")
    func discoveryOverHTTP() async throws {
        try await withProviderDoubles({ app, base, _ in
            let good: [String: Any] = [
                "issuer": base + "/good", "authorization_endpoint": base + "/good/authorize", "token_endpoint": base + "/good/token",
                "code_challenge_methods_supported": ["S256"],
            ]
            app.get(".well-known", "oauth-authorization-server", "good") { _ in ProviderDouble.json(good) }
            app.get(".well-known", "oauth-authorization-server", "other") { _ in ProviderDouble.json(good) }
            app.get(".well-known", "oauth-authorization-server", "big") { _ in
                ProviderDouble.json(["issuer": base + "/big", "padding": String(repeating: "x", count: 100 * 1024)])
            }
            app.get(".well-known", "oauth-authorization-server", "slow") { _ in
                try await Task.sleep(for: .seconds(3))
                return ProviderDouble.json(["issuer": base + "/slow"])
            }
            app.get(".well-known", "oauth-authorization-server", "moved") { request in
                request.redirect(to: base + "/.well-known/oauth-authorization-server/good")
            }
            return []
        }) { app, _, _ in
            let base = app.http.server.configuration.port
            let origin = "http://127.0.0.1:\(base)/.well-known/oauth-authorization-server/"
            let discovery = ProviderDiscovery(http: app.providerHTTP)
            // Only the slow document meets a short deadline: on a loaded machine the others may
            // take longer than a second and must still fail for their own reason.
            var impatient = discovery
            impatient.timeout = .seconds(1)

            let metadata = try await discovery.fetch(origin + "good", allowsPrivateNetwork: true)
            #expect(metadata.tokenEndpoint == "http://127.0.0.1:\(base)/good/token")
            for (path, expected) in [("other", "RFC 8414 §3.3"), ("big", "larger than 64 KiB"), ("slow", "did not arrive"), ("moved", "answered 303")] {
                let client = path == "slow" ? impatient : discovery
                let error = await #expect(throws: ProviderDiscovery.Failure.self) { try await client.fetch(origin + path, allowsPrivateNetwork: true) }
                #expect(error?.description.contains(expected) == true, "\(path): \(error?.description ?? "nothing thrown")")
            }
            // Without the flag, http is refused before any request.
            await #expect(throws: ProviderDiscovery.Failure.self) { try await discovery.fetch(origin + "good", allowsPrivateNetwork: false) }
        }
    }

    // MARK: - One app's catalog

    static func store(_ entry: CatalogProvider, for appID: UUID, on db: any Database) async throws {
        let row = CustomProvider()
        row.$app.id = appID
        try row.store(entry)
        try await row.save(on: db)
    }

    @Test("an app sees its own custom providers, and no other app's", arguments: TestDatabase.all)
    func isolation(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let a = try await seedApp(app, providers: ["sandbox"])
            let b = try await seedApp(app, providers: ["sandbox"])
            try await Self.store(try Self.input().entry(discovered: nil), for: a.id, on: app.db)

            let forA = try await app.providerCatalog.forApp(a.id, on: app.db)
            let forB = try await app.providerCatalog.forApp(b.id, on: app.db)
            #expect(forA["my-idp"]?.isCustom == true)
            #expect(forA["my-idp"]?.name == "My IdP")
            #expect(forB["my-idp"] == nil)
            #expect(forA["github"] != nil && forB["github"] != nil)
            #expect(app.providerCatalog["my-idp"] == nil)
        }
    }

    @Test("a custom id cannot shadow a catalog provider, and a stored entry that breaks a rule is left out")
    func shadowingAndBrokenRows() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app, providers: [])
            var shadow = try Self.input().entry(discovered: nil)
            shadow.id = "github"
            shadow.tokenURL = "https://evil.example.com/token"
            try await Self.store(shadow, for: seeded.id, on: app.db)
            var broken = try Self.input().entry(discovered: nil)
            broken.id = "broken"
            broken.tokenURL = "http://idp.example.com/token"
            try await Self.store(broken, for: seeded.id, on: app.db)

            let catalog = try await app.providerCatalog.forApp(seeded.id, on: app.db)
            #expect(catalog["github"]?.tokenURL == "https://github.com/login/oauth/access_token")
            #expect(catalog["broken"] == nil)
            let (_, rejected) = app.providerCatalog.adding(custom: [shadow, broken])
            #expect(rejected.map(\.provider) == ["github", "broken"])
        }
    }

    @Test("session minting offers a custom provider only to its own app")
    func minting() async throws {
        try await withApp { app in
            let a = try await seedApp(app, providers: ["my-idp"])
            let b = try await seedApp(app, providers: ["my-idp"])
            try await Self.store(try Self.input().entry(discovered: nil), for: a.id, on: app.db)

            let minted = try await app.mintSession(key: a.key, body: ["allowed_providers": ["my-idp"], "allowed_origin": "http://localhost:4001"])
            #expect(minted.status == .created)
            let refused = try await app.mintSession(key: b.key, body: ["allowed_providers": ["my-idp"], "allowed_origin": "http://localhost:4001"])
            #expect(refused.status == .badRequest)
            #expect(refused.errorCode == "no_providers")
            #expect(try await app.sessionCount() == 1)
        }
    }

    @Test("a person connects a custom provider through the Connect UI, and the grant carries its name")
    func connectCustom() async throws {
        try await withProviderDoubles({ app, base, log in
            app.post("idp", "token") { request in
                log.record(request)
                return ProviderDouble.json(["access_token": "idp-at", "refresh_token": "idp-rt", "expires_in": 300, "token_type": "Bearer", "scope": "read"])
            }
            app.get("idp", "authorize") { request in
                log.record(request)
                let query = FormEncoding.decode(request.url.query ?? "")
                return request.redirect(to: (query["redirect_uri"] ?? "") + "?" + FormEncoding.encode([("code", "c1"), ("state", query["state"] ?? "")]))
            }
            app.get("idp", "me") { _ in ProviderDouble.json(["username": "alice", "email": "alice@idp.test"]) }
            return []
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["sandbox", "my-idp"])
            let base = "http://127.0.0.1:\(app.http.server.configuration.port)"
            let entry = try Self.input {
                $0.allowsPrivateNetwork = true
                $0.authorizationURL = base + "/idp/authorize"
                $0.tokenURL = base + "/idp/token"
                $0.userinfoURL = base + "/idp/me"
                $0.accountField = "username"
                $0.emailField = "email"
                $0.apiHosts = [base]
            }.entry(discovered: nil)
            try await Self.store(entry, for: seeded.id, on: app.db)
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)

            // Both providers are offered in the picker, the custom one by its name.
            let picker = try await flow.open(try await flow.mint())
            #expect(picker.body.contains("My IdP"))
            #expect(picker.body.contains("data-provider=\"my-idp\""))

            let (token, finish) = try await flow.connectThroughDouble("my-idp")
            #expect(try await flow.outcome(token).status == "completed")
            let grants = try #require((finish.scriptData["result"] as? [String: Any])?["grants"] as? [[String: Any]])
            #expect(grants.first?["provider"] as? String == "my-idp")
            #expect(grants.first?["provider_name"] as? String == "My IdP")
            #expect(grants.first?["account_identifier"] as? String == "alice")
            let exchange = try #require(log.last("/idp/token"))
            let basic = "Basic " + Data("client-my-idp:secret-my-idp".utf8).base64EncodedString()
            #expect(exchange.headers.first(name: "Authorization") == basic)
            #expect(exchange.form["code_verifier"]?.count == 43)
            #expect(log.last("/idp/authorize")?.query["code_challenge_method"] == "S256")
        }
    }
}
