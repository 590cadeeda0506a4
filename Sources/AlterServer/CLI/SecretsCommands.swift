import ConsoleKit
import Fluent
import FluentKit
import Foundation
import Vapor

/// `alter secrets …`: an app's managed secrets and their grants, through `ManagedSecrets`
/// (the same code as `/v1/secrets`). Values are read from standard input, never from the
/// command line (where `ps` and shell history would keep them), and never printed.
struct SecretsCommands: AsyncCommandGroup {
    var help: String { "Managed secrets (API keys, bearer tokens, Basic credentials): create, rotate, allowed hosts, grants." }
    var commands: [String: any AnyAsyncCommand] {
        [
            "templates": Templates(), "create": Create(), "list": List(), "show": Show(), "rotate": Rotate(), "set-allowed-hosts": SetHosts(),
            "delete": Delete(), "grant": Grant(), "grants": Grants(), "revoke-grant": RevokeGrant(),
        ]
    }

    static func store(_ context: CommandContext, app reference: String?) async throws -> (ManagedSecrets, ClientApp) {
        let app = try await AppLookup.find(reference, on: context.application.db)
        return (ManagedSecrets(application: context.application, db: context.application.db, appID: try app.requireID(), caller: "cli"), app)
    }

    /// The value from standard input: a JSON object of fields (`{"token": …}`), or the bare
    /// token — for a Basic secret the password, with `--username`.
    static func readValue(kind: SecretTemplate.Kind, username: String?) throws -> [String: String] {
        let text = try SecretInput.read(path: nil, what: "the secret's value")
        guard !text.isEmpty else { throw CommandError("the secret's value is read from standard input, which was empty (e.g. `printf %s \"$KEY\" | alter secrets …`)") }
        if text.hasPrefix("{") {
            guard let fields = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else {
                throw CommandError("standard input starts with '{' but is not a JSON object of strings")
            }
            return fields
        }
        if kind == .basic {
            guard let username else { throw CommandError("a Basic secret needs --username (the password is read from standard input)") }
            return ["username": username, "password": text]
        }
        return ["token": text]
    }

    static func hosts(_ raw: String?) -> [String]? {
        raw.map { $0.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) }
    }

    static func describe(_ secret: ManagedSecret) throws -> String {
        let injection = secret.injection
        let how = injection.kind == .query ? "query ?\(injection.queryParameter ?? "")=" : "\(injection.header ?? ""): \(injection.format ?? "")"
        return "\(try secret.requireID().lowercasedString)  \(secret.slug)  \(secret.template)  \(how)  hosts \(secret.allowedHosts.joined(separator: " "))"
    }

    struct Templates: AsyncCommand {
        struct Signature: CommandSignature {}
        var help: String { "Lists the templates a secret can be made from." }

        func run(using context: CommandContext, signature: Signature) async throws {
            for template in SecretTemplate.all {
                let how = template.kind == .query ? "query \(template.queryParameter ?? "<parameter>")" : "\(template.header ?? "<header>"): \(template.format ?? "<format>")"
                context.console.print("\(template.slug)  \(template.name)  \(how)  \(template.hosts.joined(separator: " "))")
            }
        }
    }

    struct Create: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "name", help: "Name, e.g. \"Stripe (prod)\"") var name: String?
            @Option(name: "slug", help: "Stable id used by request(provider=…) (default: from the name)") var slug: String?
            @Option(name: "template", help: "See `alter secrets templates`") var template: String?
            @Option(name: "header", help: "Header name (api_key_header, custom)") var header: String?
            @Option(name: "format", help: "Header value with {token} (custom), e.g. \"Token {token}\"") var format: String?
            @Option(name: "query-parameter", help: "Query parameter name (api_key_query)") var queryParameter: String?
            @Option(name: "allowed-hosts", help: "Comma-separated origins the secret may be sent to (default: the template's)") var allowedHosts: String?
            @Flag(name: "allow-private-network", help: "Allow loopback/private addresses and plain http (a service on this machine or LAN)") var allowPrivateNetwork: Bool
            @Option(name: "username", help: "Basic auth username (the password comes from standard input)") var username: String?
        }
        var help: String { "Creates a managed secret; its value is read from standard input and stored encrypted." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, _) = try await SecretsCommands.store(context, app: signature.app)
            let kind = signature.template.flatMap(SecretTemplate.named)?.kind ?? .bearer
            let value = try SecretsCommands.readValue(kind: kind, username: signature.username)
            let definition: SecretDefinition
            do {
                definition = try SecretDefinition(validating: .init(
                    name: signature.name, slug: signature.slug, template: signature.template, header: signature.header, format: signature.format,
                    queryParameter: signature.queryParameter, allowedHosts: SecretsCommands.hosts(signature.allowedHosts),
                    allowsPrivateNetwork: signature.allowPrivateNetwork, value: value))
            } catch { throw CommandError(error.description) }
            let secret = try await store.create(definition)
            context.console.print("id: \(try secret.requireID().lowercasedString)")
            context.console.print("slug: \(secret.slug)")
        }
    }

    struct List: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
        }
        var help: String { "Lists an app's managed secrets (never their values)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, _) = try await SecretsCommands.store(context, app: signature.app)
            for secret in try await store.all() { context.console.print(try SecretsCommands.describe(secret)) }
        }
    }

    struct Show: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "secret", help: "Secret id or slug") var secret: String?
        }
        var help: String { "Shows one managed secret (never its value)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, _) = try await SecretsCommands.store(context, app: signature.app)
            let secret = try await store.find(signature.secret)
            context.console.print(try SecretsCommands.describe(secret))
            context.console.print("rotated: \(secret.rotatedAt.map { "\($0)" } ?? "never")")
        }
    }

    struct Rotate: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "secret", help: "Secret id or slug") var secret: String?
            @Option(name: "username", help: "Basic auth username (the password comes from standard input)") var username: String?
        }
        var help: String { "Replaces a secret's value (from standard input); every grant keeps its grant_id and uses the new value at once." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, _) = try await SecretsCommands.store(context, app: signature.app)
            let secret = try await store.find(signature.secret)
            try await store.rotate(secret, value: try SecretsCommands.readValue(kind: secret.kind, username: signature.username))
            context.console.print("Rotated \(secret.slug); grants keep their ids.")
        }
    }

    struct SetHosts: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "secret", help: "Secret id or slug") var secret: String?
            @Option(name: "allowed-hosts", help: "Comma-separated origins, e.g. https://api.stripe.com") var allowedHosts: String?
            @Flag(name: "allow-private-network", help: "Allow loopback/private addresses and plain http") var allowPrivateNetwork: Bool
        }
        var help: String { "Replaces the hosts a secret may be sent to." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, _) = try await SecretsCommands.store(context, app: signature.app)
            let secret = try await store.find(signature.secret)
            try await store.setAllowedHosts(secret, SecretsCommands.hosts(signature.allowedHosts), allowsPrivateNetwork: signature.allowPrivateNetwork ? true : nil)
            context.console.print(try SecretsCommands.describe(secret))
        }
    }

    struct Delete: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "secret", help: "Secret id or slug") var secret: String?
        }
        var help: String { "Deletes a secret and every grant of it." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, _) = try await SecretsCommands.store(context, app: signature.app)
            let secret = try await store.find(signature.secret)
            try await store.delete(secret)
            context.console.print("Deleted \(secret.slug).")
        }
    }

    struct Grant: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "secret", help: "Secret id or slug") var secret: String?
            @Flag(name: "system", help: "Grant to the app itself (server-to-server)") var system: Bool
            @Option(name: "user-token", help: "Grant to the end user this user_token names") var userToken: String?
            @Option(name: "agent", help: "Grant to this agent (id)") var agent: String?
            @Option(name: "label", help: "Label of the grant") var label: String?
            @Option(name: "expires-at", help: "ISO 8601 time after which the grant stops working") var expiresAt: String?
            @Option(name: "max-ttl", help: "Maximum lifetime in seconds") var maxTTL: Int?
            @Option(name: "default-ttl", help: "Lifetime in seconds when --expires-at is not given") var defaultTTL: Int?
        }
        var help: String { "Grants a secret to one principal (--system, --user-token or --agent) and prints the grant_id." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, app) = try await SecretsCommands.store(context, app: signature.app)
            let secret = try await store.find(signature.secret)
            let chosen = [signature.system ? "system" : nil, signature.userToken.map { _ in "user" }, signature.agent.map { _ in "agent" }].compactMap { $0 }
            guard chosen.count == 1 else { throw CommandError("give exactly one of --system, --user-token, --agent") }
            let principal = try await store.principal(.init(type: chosen[0], userToken: signature.userToken, agentID: signature.agent), app: app)
            let policy: SecretGrantPolicy
            do {
                policy = try SecretGrantPolicy(
                    expiresAt: signature.expiresAt, maxTTLSeconds: signature.maxTTL, defaultTTLSeconds: signature.defaultTTL, now: context.application.clock.now())
            } catch { throw CommandError(error.description) }
            let grant = try await store.grant(secret, to: principal, label: signature.label, policy: policy)
            context.console.print("grant_id: \(try grant.requireID().lowercasedString)")
        }
    }

    struct Grants: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "secret", help: "Secret id or slug") var secret: String?
        }
        var help: String { "Lists a secret's grants." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, _) = try await SecretsCommands.store(context, app: signature.app)
            let secret = try await store.find(signature.secret)
            let now = context.application.clock.now()
            for grant in try await store.grants(of: secret) {
                let info = try SecretGrantInfo(grant, secret: secret, now: now)
                let expiry = info.expiresAt.map { "expires \($0)" } ?? "no expiry"
                context.console.print("\(info.grantID)  \(info.principalType)  \(info.status)  \(info.label ?? "-")  \(expiry)")
            }
        }
    }

    struct RevokeGrant: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "grant", help: "grant_id of a secret grant") var grant: String?
        }
        var help: String { "Revokes a secret grant; its next use answers grant_revoked." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let (store, _) = try await SecretsCommands.store(context, app: signature.app)
            guard let id = signature.grant.flatMap(UUID.init(uuidString:)), let (grant, secret) = try await store.grant(id: id) else {
                throw CommandError("no secret grant \(signature.grant ?? "") for this app (see `alter secrets grants`)")
            }
            try await store.revoke(grant, secret: secret, reason: nil)
            context.console.print("Revoked \(id.lowercasedString).")
        }
    }
}
