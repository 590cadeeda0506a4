@testable import AlterServer
import Foundation
import Testing

@Suite("alter secrets", .enabled(if: FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct SecretsCLITests {
    @Test("an operator stores a secret from standard input, grants it and rotates it; the value is never printed")
    func lifecycle() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        let created = try await alter.run("apps", "create", "--name", "Acme", "--website-url", "https://acme.example.com")
        try #require(created.status == 0, "\(created.error)")

        let secret = try await alter.run(["secrets", "create", "--app", "Acme", "--name", "Stripe (prod)", "--template", "stripe"], input: "sk_live_cli_111\n")
        #expect(secret.status == 0, "\(secret.error)")
        #expect(secret.output.contains("slug: stripe-prod"))
        let grant = try await alter.run("secrets", "grant", "--app", "Acme", "--secret", "stripe-prod", "--system", "--default-ttl", "3600")
        #expect(grant.status == 0, "\(grant.error)")
        let grantID = try #require(grant.output.split(separator: "\n").first { $0.hasPrefix("grant_id: ") }).dropFirst(10)
        let rotated = try await alter.run(["secrets", "rotate", "--app", "Acme", "--secret", "stripe-prod"], input: "sk_live_cli_222")
        #expect(rotated.status == 0, "\(rotated.error)")

        let listed = try await alter.run("secrets", "list", "--app", "Acme")
        #expect(listed.output.contains("stripe-prod") && listed.output.contains("https://api.stripe.com"))
        let grants = try await alter.run("secrets", "grants", "--app", "Acme", "--secret", "stripe-prod")
        #expect(grants.output.contains(String(grantID)) && grants.output.contains("active"))
        for result in [secret, grant, rotated, listed, grants] {
            #expect(!(result.output + result.error).contains("sk_live_cli"))
        }
    }

    @Test("bad input exits non-zero with a clear message and stores nothing", arguments: [
        (["--template", "stripe"], "sk_x", "name is required"),
        (["--name", "X", "--template", "nope"], "sk_x", "template must be one of"),
        (["--name", "X", "--template", "bearer"], "sk_x", "allowed_hosts is required"),
        (["--name", "X", "--template", "bearer", "--allowed-hosts", "http://api.example.com"], "sk_x", "needs allow_private_network"),
        (["--name", "X", "--template", "basic", "--allowed-hosts", "https://api.example.com"], "pw", "needs --username"),
        (["--name", "X", "--template", "stripe"], "", "standard input, which was empty"),
    ])
    func rejects(arguments: [String], input: String, message: String) async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        _ = try await alter.run("apps", "create", "--name", "Acme")
        let result = try await alter.run(["secrets", "create", "--app", "Acme"] + arguments, input: input)
        #expect(result.status != 0)
        #expect(result.error.contains(message), "\(result.error)")
        #expect(try await alter.run("secrets", "list", "--app", "Acme").output.isEmpty)
    }
}
