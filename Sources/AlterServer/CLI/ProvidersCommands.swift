import Fluent
import ConsoleKit
import FluentKit
import Foundation
import Vapor

/// `alter providers configure|list|add-custom|remove-custom`.
struct ProvidersCommands: AsyncCommandGroup {
    var help: String { "Configure an app's OAuth clients, add its own OAuth servers, and list the provider catalog." }
    var commands: [String: any AnyAsyncCommand] {
        ["configure": Configure(), "list": List(), "add-custom": AddCustom(), "remove-custom": RemoveCustom()]
    }

    struct Configure: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "provider", help: "Provider id from `alter providers list --app A`") var provider: String?
            @Option(name: "client-id", help: "OAuth client id registered at the provider") var clientID: String?
            @Option(name: "client-secret-file", help: "File holding the OAuth client secret (default, or `-`: standard input); stored encrypted")
            var clientSecretFile: String?
            /// Refused with a hint: a secret on argv shows in `ps` and shell history.
            @Option(name: "client-secret", help: "Not accepted: pipe the secret to standard input or use --client-secret-file") var clientSecret: String?
            @Option(name: "scopes", help: "Space- or comma-separated scopes (default: the catalog's)") var scopes: String?
            @Option(name: "variable", help: "URL values the provider needs, name=value[,name=value] (tenant=common, shop=acme-store, subdomain=acme)")
            var variables: String?
            @Flag(name: "disable", help: "Keep the configuration but hide the provider from sessions") var disable: Bool
            @Flag(name: "move-redirect-uri", help: "Switch a config from the shared {ALTER_PUBLIC_URL}/oauth/callback to its own {ALTER_PUBLIC_URL}/oauth/callback/{provider} (register that first)")
            var moveRedirectURI: Bool
        }
        var help: String {
            "Adds or updates an app's OAuth client for a provider. Register {ALTER_PUBLIC_URL}/oauth/callback/{provider} as its redirect URI at the provider."
        }

        func run(using context: CommandContext, signature: Signature) async throws {
            let db = context.application.db
            let app = try await AppLookup.find(signature.app, on: db)
            let catalog = try await context.application.providerCatalog.forApp(app.requireID(), on: db)
            guard let providerID = signature.provider, let provider = catalog[providerID] else {
                throw CommandError("--provider must be a provider id from `alter providers list --app \(app.name)`\(signature.provider.map { " (got '\($0)')" } ?? "")")
            }
            guard let clientID = signature.clientID, !clientID.isEmpty, clientID.count <= 512 else { throw CommandError("--client-id is required") }
            guard signature.clientSecret == nil else {
                throw CommandError("--client-secret on the command line would show in ps and shell history; pipe it instead (`printf %s \"$SECRET\" | alter providers configure …`) or use --client-secret-file PATH")
            }
            let secret = try SecretInput.read(path: signature.clientSecretFile, what: "the client secret")
            guard !secret.isEmpty, secret.count <= 2048 else {
                throw CommandError("the client secret is read from standard input (or --client-secret-file), which was empty or over 2048 characters")
            }
            let scopes = ProvidersCommands.list(signature.scopes)

            let existing = try await ProviderConfig.query(on: db).filter(\.$app.$id == app.requireID()).filter(\.$provider == providerID).first()
            let variables = try Self.variables(signature.variables, existing: existing?.variables ?? [:], provider: provider)
            let config = existing ?? ProviderConfig()
            if existing == nil {
                config.id = UUID()
                config.$app.id = try app.requireID()
                config.provider = providerID
            }
            config.clientID = clientID
            try config.setClientSecret(secret, using: context.application.sealer)
            config.scopes = scopes
            config.enabled = !signature.disable
            config.variables = variables.isEmpty ? nil : variables
            if signature.moveRedirectURI { config.legacyCallback = nil }
            try await config.save(on: db)
            context.console.print("\(existing == nil ? "Configured" : "Updated") \(providerID) for \(app.name)")
            let publicURL = context.application.alterConfiguration.publicURL
            context.console.print("  redirect URI: \(config.redirectURI(publicURL: publicURL)) (register exactly this at \(provider.name))")
            if config.legacyCallback == true {
                context.console.print("  This config predates per-provider redirect URIs. Register \(ProviderConfig.redirectURI(publicURL: publicURL, provider: providerID, legacy: false)) at \(provider.name), then run configure again with --move-redirect-uri.")
            }
        }

        /// The provider's config variables: every one set, each value checked against its
        /// pattern and its place in the URLs before anything is stored.
        static func variables(_ option: String?, existing: [String: String], provider: CatalogProvider) throws -> [String: String] {
            var values = existing.filter { provider.configVariables[$0.key] != nil }
            for pair in (option ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let variable = provider.configVariables[parts[0]] else {
                    let known = provider.configVariables.keys.sorted()
                    throw CommandError("--variable '\(pair)': \(provider.id) takes \(known.isEmpty ? "no variables" : known.map { "\($0)=…" }.joined(separator: ", "))")
                }
                guard ProviderURLTemplate.accepts(parts[1], for: parts[0], of: provider) else {
                    throw CommandError("--variable \(parts[0]): '\(parts[1])' is not allowed (\(variable.description ?? "must match \(variable.pattern ?? "")"))")
                }
                values[parts[0]] = parts[1]
            }
            if let missing = provider.configVariables.keys.sorted().first(where: { values[$0] == nil }) {
                throw CommandError("\(provider.id) needs --variable \(missing)=… (\(provider.configVariables[missing]?.description ?? "see docs/providers.md"))")
            }
            return values
        }
    }

    struct List: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "Show this app's custom providers and which providers it has configured") var app: String?
        }
        var help: String { "Lists the provider catalog (and an app's custom providers), marking what the app has configured." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let db = context.application.db
            var catalog = context.application.providerCatalog
            var configured: [String: ProviderConfig] = [:]
            var rejected: [CatalogViolation] = []
            if signature.app != nil {
                let app = try await AppLookup.find(signature.app, on: db)
                let appID = try app.requireID()
                for config in try await ProviderConfig.query(on: db).filter(\.$app.$id == appID).all() {
                    configured[config.provider] = config
                }
                let rows = try await CustomProvider.query(on: db).filter(\.$app.$id == appID).all()
                (catalog, rejected) = catalog.adding(custom: rows.compactMap(\.entry))
                for row in rows where row.entry == nil {
                    rejected.append(CatalogViolation(provider: row.provider, rule: "the stored definition cannot be read"))
                }
            }
            let providers = catalog.sorted
            let idWidth = max(16, providers.map(\.id.count).max() ?? 0)
            let nameWidth = max(20, providers.map(\.name.count).max() ?? 0)
            for provider in providers {
                var line = "\(provider.id.padding(toLength: idWidth, withPad: " ", startingAt: 0)) \(provider.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)) \(provider.category)"
                if provider.isCustom { line += "  [custom]" }
                if let config = configured[provider.id] {
                    line += config.enabled ? "  [configured]" : "  [configured, disabled]"
                    line += "  redirect URI: \(config.redirectURI(publicURL: context.application.alterConfiguration.publicURL))"
                    if config.legacyCallback == true { line += " (legacy: move with configure --move-redirect-uri)" }
                }
                context.console.print(line)
            }
            for violation in rejected {
                context.console.print("\(violation.provider.padding(toLength: idWidth, withPad: " ", startingAt: 0)) [custom, unusable: \(violation.rule)]")
            }
        }
    }

    struct AddCustom: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "id", help: "Provider id: a-z, 0-9 and '-' (not a catalog id)") var id: String?
            @Option(name: "name", help: "Name shown in the Connect UI") var name: String?
            @Option(name: "description", help: "One line shown under the name") var description: String?
            @Option(name: "discovery-url", help: "RFC 8414 or OpenID Connect discovery URL (…/.well-known/oauth-authorization-server or …/.well-known/openid-configuration)")
            var discoveryURL: String?
            @Option(name: "authorization-url", help: "Authorization endpoint (instead of, or overriding, discovery)") var authorizationURL: String?
            @Option(name: "token-url", help: "Token endpoint") var tokenURL: String?
            @Option(name: "revocation-url", help: "RFC 7009 revocation endpoint") var revocationURL: String?
            @Option(name: "userinfo-url", help: "JSON endpoint that names the signed-in account (default: discovery's userinfo_endpoint)")
            var userinfoURL: String?
            @Option(name: "account-field", help: "Dot path of the account identifier in the userinfo JSON (default: sub)") var accountField: String?
            @Option(name: "email-field", help: "Dot path of the email in the userinfo JSON") var emailField: String?
            @Option(name: "name-field", help: "Dot path of the display name in the userinfo JSON") var nameField: String?
            @Option(name: "api-host", help: "Origin the proxy may call, https://api.example.com (repeat for several)") var apiHost: String?
            @Option(name: "scopes", help: "Space- or comma-separated scopes to request") var scopes: String?
            @Flag(name: "pkce", help: "Use PKCE S256 (the default)") var pkce: Bool
            @Flag(name: "no-pkce", help: "Do not use PKCE (only for servers that reject it)") var noPKCE: Bool
            @Option(name: "client-auth", help: "basic (client_secret_basic) or post (client_secret_post); default: from discovery, else basic")
            var clientAuth: String?
            @Flag(name: "allow-private-network", help: "Allow http and loopback/private addresses: for tests only, never in production")
            var allowPrivateNetwork: Bool
        }
        var help: String { "Adds (or replaces) an app's own OAuth 2.0 provider, by its URLs or its discovery document." }

        /// `--api-host` may be repeated; ConsoleKit options take one value, so collect them first.
        func run(using context: inout CommandContext) async throws {
            var hosts: [String] = []
            while let index = context.input.arguments.firstIndex(of: "--api-host"), index + 1 < context.input.arguments.count {
                hosts.append(context.input.arguments[index + 1])
                context.input.arguments.removeSubrange(index...(index + 1))
            }
            let signature = try Signature(from: &context.input)
            guard context.input.arguments.isEmpty else { throw CommandError("unknown input: \(context.input.arguments.joined(separator: " "))") }
            try await add(using: context, signature: signature, apiHosts: hosts)
        }

        func run(using context: CommandContext, signature: Signature) async throws {
            try await add(using: context, signature: signature, apiHosts: signature.apiHost.map { [$0] } ?? [])
        }

        func add(using context: CommandContext, signature: Signature, apiHosts: [String]) async throws {
            let db = context.application.db
            let app = try await AppLookup.find(signature.app, on: db)
            guard let id = signature.id, let name = signature.name else { throw CommandError("--id and --name are required") }
            guard context.application.providerCatalog[id] == nil else {
                throw CommandError("'\(id)' is a catalog provider; configure it with `alter providers configure`, or pick another --id")
            }
            guard !(signature.pkce && signature.noPKCE) else { throw CommandError("--pkce and --no-pkce contradict each other") }
            var clientAuth: CatalogProvider.ClientAuth?
            switch signature.clientAuth {
            case nil: clientAuth = nil
            case "basic"?, "client_secret_basic"?: clientAuth = .basic
            case "post"?, "client_secret_post"?: clientAuth = .post
            case let other?: throw CommandError("--client-auth must be basic or post (got '\(other)')")
            }
            guard !apiHosts.isEmpty else { throw CommandError("--api-host is required: the origin(s) the proxy may call with this provider's tokens") }

            var discovered: ProviderDiscovery.Metadata?
            if let url = signature.discoveryURL {
                do {
                    discovered = try await ProviderDiscovery(http: context.application.providerHTTP).fetch(url, allowsPrivateNetwork: signature.allowPrivateNetwork)
                } catch {
                    throw CommandError("--discovery-url: \(error.description)")
                }
            }
            let input = CustomProviderInput(
                id: id, name: name, description: signature.description, authorizationURL: signature.authorizationURL,
                tokenURL: signature.tokenURL, revocationURL: signature.revocationURL, userinfoURL: signature.userinfoURL,
                accountField: signature.accountField, emailField: signature.emailField, nameField: signature.nameField,
                apiHosts: apiHosts, scopes: ProvidersCommands.list(signature.scopes),
                pkce: signature.noPKCE ? false : (signature.pkce ? true : nil), clientAuth: clientAuth,
                allowsPrivateNetwork: signature.allowPrivateNetwork)
            let entry: CatalogProvider
            do {
                entry = try input.entry(discovered: discovered)
            } catch {
                throw CommandError("custom provider '\(id)': \(error.rule)")
            }

            let appID = try app.requireID()
            let existing = try await CustomProvider.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == id).first()
            let row = existing ?? CustomProvider()
            row.$app.id = appID
            try row.store(entry)
            try await row.save(on: db)
            context.console.print("\(existing == nil ? "Added" : "Replaced") custom provider \(id) for \(app.name)")
            context.console.print("  authorization: \(entry.authorizationURL)")
            context.console.print("  token:         \(entry.tokenURL) (\(entry.clientAuth.rawValue)\(entry.pkce ? ", PKCE S256" : ", no PKCE"))")
            context.console.print("  userinfo:      \(entry.userinfo?.url ?? "-") (account: \(entry.userinfo?.accountIdentifier ?? "-"))")
            context.console.print("  api hosts:     \(entry.apiHosts.joined(separator: " "))")
            if entry.allowsPrivateNetwork { context.console.print("  private network allowed: for tests only") }
            context.console.print("Next: alter providers configure --app \(app.name) --provider \(id) --client-id … < client-secret-file")
        }
    }

    struct RemoveCustom: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "id", help: "The custom provider's id") var id: String?
        }
        var help: String { "Removes an app's custom provider and its OAuth client configuration (refused while grants use it)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let db = context.application.db
            let app = try await AppLookup.find(signature.app, on: db)
            let appID = try app.requireID()
            guard let id = signature.id, let row = try await CustomProvider.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == id).first() else {
                throw CommandError("\(app.name) has no custom provider '\(signature.id ?? "")' (see `alter providers list --app \(app.name)`)")
            }
            let grants = try await Grant.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == id).count()
            guard grants == 0 else { throw CommandError("\(grants) grant(s) of \(app.name) use '\(id)'; revoke them first") }
            try await db.transaction { db in
                try await ProviderConfig.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == id).delete()
                try await row.delete(on: db)
            }
            context.console.print("Removed custom provider \(id) from \(app.name)")
        }
    }

    /// `"a b,c"` → `["a", "b", "c"]`.
    static func list(_ option: String?) -> [String] {
        (option ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
    }
}
