import Fluent
import ConsoleKit
import Fluent
import FluentKit
import Foundation
import Vapor

/// `alter apps create|list|identity`.
struct AppsCommands: AsyncCommandGroup {
    var help: String { "Create and list apps, and configure how their user tokens are verified." }
    var commands: [String: any AnyAsyncCommand] {
        ["create": CreateApp(), "list": ListApps(), "identity": ConfigureIdentity(), "webhook": ConfigureWebhook()]
    }

    struct CreateApp: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "name", help: "Display name of the app") var name: String?
            @Option(name: "website-url", help: "The app's origin, e.g. https://app.example.com (used when a session has no allowed_origin)")
            var websiteURL: String?
        }
        var help: String { "Creates an app. Then create a key with `alter keys create --app <id>`." }

        func run(using context: CommandContext, signature: Signature) async throws {
            guard let name = signature.name?.trimmingCharacters(in: .whitespaces), !name.isEmpty, name.count <= 100 else {
                throw CommandError("--name is required (1–100 characters)")
            }
            var website: String?
            if let raw = signature.websiteURL {
                do {
                    website = try AllowedOrigin(parsing: raw).value
                } catch {
                    throw CommandError("--website-url \(error.rule) (expected an origin like https://app.example.com)")
                }
            }
            let app = ClientApp(name: name, websiteURL: website)
            try await app.create(on: context.application.db)
            context.console.print("Created app \(name)")
            context.console.print("id: \(try app.requireID().uuidString)")
        }
    }

    struct ListApps: AsyncCommand {
        struct Signature: CommandSignature {}
        var help: String { "Lists apps with their website URL and identity settings." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let apps = try await ClientApp.query(on: context.application.db).sort(\.$createdAt).all()
            if apps.isEmpty { context.console.print("No apps yet. Create one with `alter apps create --name … --website-url …`.") }
            for app in apps {
                let identity = app.hasJWTIdentity ? "jwt issuer \(app.jwtIssuer ?? "")" : "no jwt identity"
                context.console.print("\(try app.requireID().uuidString)  \(app.name)  \(app.websiteURL ?? "(no website_url)")  \(identity)")
            }
        }
    }

    struct ConfigureIdentity: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "issuer", help: "Expected `iss` of user tokens") var issuer: String?
            @Option(name: "audience", help: "Expected `aud` of user tokens (required unless --any-audience)") var audience: String?
            @Flag(name: "any-audience", help: "Accept tokens for any audience (only for an issuer that serves this app alone)") var anyAudience: Bool
            @Option(name: "authorized-party", help: "Expected `azp` of user tokens (optional)") var authorizedParty: String?
            @Option(name: "jwks-url", help: "HTTPS URL of the issuer's JWKS") var jwksURL: String?
            @Option(name: "public-key-file", help: "PEM file with the issuer's public key (EC, RSA or Ed25519)") var publicKeyFile: String?
            @Option(name: "algorithms", help: "Comma-separated allow-list, default RS256,ES256") var algorithms: String?
        }
        var help: String { "Configures JWT identity: how `user_token` values are verified." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let app = try await AppLookup.find(signature.app, on: context.application.db)
            guard let issuer = signature.issuer, !issuer.isEmpty else { throw CommandError("--issuer is required") }
            // Review F10: without an audience, a multi-client issuer's token for any other site passes.
            guard (signature.audience?.isEmpty == false) != signature.anyAudience else {
                throw CommandError("give --audience (the `aud` your issuer puts in tokens for this app), or --any-audience to accept every audience")
            }
            guard (signature.jwksURL == nil) != (signature.publicKeyFile == nil) else {
                throw CommandError("give exactly one of --jwks-url or --public-key-file")
            }
            if let url = signature.jwksURL {
                guard let parsed = URL(string: url), parsed.scheme == "https" || (parsed.scheme == "http" && AllowedOrigin.isLoopback(parsed.host ?? ""))
                else { throw CommandError("--jwks-url must be an https URL") }
            }
            var pem: String?
            if let path = signature.publicKeyFile {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("-----BEGIN PUBLIC KEY-----") else {
                    throw CommandError("--public-key-file must be a readable PEM public key")
                }
                pem = text
            }
            var algorithms: [String]?
            if let list = signature.algorithms {
                let parsed = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard !parsed.isEmpty, parsed.allSatisfy(UserTokenVerifier.supportedAlgorithms.contains) else {
                    throw CommandError("--algorithms must list some of \(UserTokenVerifier.supportedAlgorithms.sorted().joined(separator: ", "))")
                }
                algorithms = parsed
            }
            app.jwtIssuer = issuer
            app.jwtAudience = signature.audience
            app.jwtAnyAudience = signature.anyAudience ? true : nil
            app.jwtAuthorizedParty = signature.authorizedParty
            app.jwtJWKSURL = signature.jwksURL
            app.jwtPublicKeyPEM = pem
            app.jwtAlgorithms = algorithms
            try await app.update(on: context.application.db)
            context.console.print("JWT identity configured for \(app.name)")
        }
    }

    struct ConfigureWebhook: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "url", help: "HTTPS URL that receives grant events") var url: String?
            @Flag(name: "remove", help: "Stop sending webhooks to this app") var remove: Bool
        }
        var help: String { "Sets the app's webhook URL and prints a new signing secret (shown once)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let db = context.application.db
            let app = try await AppLookup.find(signature.app, on: db)
            if signature.remove {
                app.webhookURL = nil
                app.sealedWebhookSecret = nil
                try await app.update(on: db)
                context.console.print("Webhooks removed for \(app.name)")
                return
            }
            guard let url = signature.url, let parsed = URL(string: url), let host = parsed.host, parsed.user == nil,
                parsed.scheme == "https" || (parsed.scheme == "http" && AllowedOrigin.isLoopback(host))
            else { throw CommandError("--url must be an https URL (http only for localhost)") }
            let secret = WebhookSignature.newSecret()
            app.webhookURL = url
            app.sealedWebhookSecret = try context.application.sealer.seal(secret, row: try app.requireID().uuidString, field: ClientApp.webhookSecretField)
            try await app.update(on: db)
            context.console.print(secret)
            context.console.output("Webhook signing secret for \(app.name): store it now, it is not shown again.", style: .info, newLine: true)
        }
    }
}
