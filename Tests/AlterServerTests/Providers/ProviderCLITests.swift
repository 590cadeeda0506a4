@testable import AlterServer
import Foundation
import Testing
import Vapor

/// `alter providers …` as an operator runs it: the real binary on its own data directory.
@Suite("Provider commands of the alter CLI", .enabled(if: FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct ProviderCLITests {
    static let custom = [
        "providers", "add-custom", "--app", "Acme", "--id", "my-idp", "--name", "My IdP",
        "--authorization-url", "https://idp.example.com/authorize", "--token-url", "https://idp.example.com/token",
        "--userinfo-url", "https://idp.example.com/me", "--account-field", "username",
        "--api-host", "https://api.example.com", "--api-host", "https://files.example.com", "--scopes", "read write",
    ]

    @Test("an operator adds a custom provider, configures it, sees it listed, and removes it")
    func customLifecycle() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        #expect(try await alter.run(["apps", "create", "--name", "Acme"]).status == 0)
        #expect(try await alter.run(["apps", "create", "--name", "Other"]).status == 0)

        let added = try await alter.run(Self.custom)
        #expect(added.status == 0, "\(added.error)")
        #expect(added.output.contains("Added custom provider my-idp for Acme"))
        #expect(added.output.contains("api hosts:     https://api.example.com https://files.example.com"))
        #expect(added.output.contains("client_secret_basic, PKCE S256"))

        let configured = try await alter.run([
            "providers", "configure", "--app", "Acme", "--provider", "my-idp", "--client-id", "cid",
        ], input: "secret-value\n")
        #expect(configured.status == 0, "\(configured.error)")
        let listed = try await alter.run(["providers", "list", "--app", "Acme"])
        let line = try #require(listed.output.split(separator: "\n").first { $0.hasPrefix("my-idp ") })
        #expect(line.contains("My IdP") && line.contains("[custom]") && line.contains("[configured]"))
        #expect(listed.output.contains("github "))
        #expect(!(try await alter.run(["providers", "list", "--app", "Other"])).output.contains("my-idp"))
        #expect(!(try await alter.run(["providers", "list"])).output.contains("my-idp"))

        // Other apps cannot configure it.
        let foreign = try await alter.run(["providers", "configure", "--app", "Other", "--provider", "my-idp", "--client-id", "a"], input: "b")
        #expect(foreign.status != 0)

        let replaced = try await alter.run(Self.custom.map { $0 == "My IdP" ? "My IdP 2" : $0 })
        #expect(replaced.output.contains("Replaced custom provider my-idp"))
        let removed = try await alter.run(["providers", "remove-custom", "--app", "Acme", "--id", "my-idp"])
        #expect(removed.status == 0, "\(removed.error)")
        #expect(!(try await alter.run(["providers", "list", "--app", "Acme"])).output.contains("my-idp"))
    }

    @Test(
        "add-custom refuses what cannot work, saying why",
        arguments: [
            (["--id": "github"], [], "'github' is a catalog provider"),
            (["--token-url": "http://idp.example.com/token"], [], "token_url must be an absolute https URL"),
            (["--token-url": "https://127.0.0.1/token"], [], "pass --allow-private-network"),
            ([:], ["--api-host", "https://api.example.com/v1"], "must be scheme + host only"),
            ([:], ["--client-auth", "jwt"], "--client-auth must be basic or post"),
            ([:], ["--discovery-url", "https://idp.example.com/metadata"], "--discovery-url must point at /.well-known/"),
            ([:], ["--pkce", "--no-pkce"], "contradict"),
        ] as [([String: String], [String], String)])
    func refusals(replace: [String: String], extra: [String], message: String) async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        _ = try await alter.run(["apps", "create", "--name", "Acme"])
        var arguments = Self.custom + extra
        for (option, value) in replace { arguments[try #require(arguments.firstIndex(of: option)) + 1] = value }
        let result = try await alter.run(arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "\(result.error)")
        #expect(!(try await alter.run(["providers", "list", "--app", "Acme"])).output.contains("[custom]"))
    }

    @Test("configure checks URL variables: Microsoft needs a tenant, and never a domain name")
    func variables() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        _ = try await alter.run(["apps", "create", "--name", "Acme"])
        let base = ["providers", "configure", "--app", "Acme", "--provider", "microsoft", "--client-id", "a"]
        let missing = try await alter.run(base, input: "b")
        #expect(missing.status != 0)
        #expect(missing.error.contains("microsoft needs --variable tenant="))
        let domain = try await alter.run(base + ["--variable", "tenant=contoso.onmicrosoft.com"], input: "b")
        #expect(domain.error.contains("is not allowed"))
        #expect(try await alter.run(base + ["--variable", "tenant=organizations"], input: "b").status == 0)
    }

    @Test("add-custom reads an RFC 8414 discovery document over loopback with --allow-private-network")
    func discovery() async throws {
        try await withProviderDoubles({ app, base, _ in
            app.get(".well-known", "oauth-authorization-server", "idp") { _ in
                ProviderDouble.json([
                    "issuer": base + "/idp", "authorization_endpoint": base + "/idp/authorize", "token_endpoint": base + "/idp/token",
                    "revocation_endpoint": base + "/idp/revoke", "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_post"], "response_types_supported": ["code"],
                ])
            }
            return []
        }) { app, _, _ in
            let base = "http://127.0.0.1:\(app.http.server.configuration.port)"
            let alter = AlterProcess()
            defer { alter.cleanUp() }
            _ = try await alter.run(["apps", "create", "--name", "Acme"])
            let arguments = [
                "providers", "add-custom", "--app", "Acme", "--id", "idp", "--name", "IdP", "--discovery-url",
                base + "/.well-known/oauth-authorization-server/idp", "--userinfo-url", base + "/idp/me", "--api-host", base,
            ]
            let refused = try await alter.run(arguments)
            #expect(refused.status != 0)
            #expect(refused.error.contains("--allow-private-network"))
            let added = try await alter.run(arguments + ["--allow-private-network"])
            #expect(added.status == 0, "\(added.error)")
            #expect(added.output.contains("authorization: \(base)/idp/authorize"))
            #expect(added.output.contains("client_secret_post, PKCE S256"))
            #expect(added.output.contains("private network allowed: for tests only"))
        }
    }
}
