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
            guard let name = signature.name?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
                throw CommandError("--name is required (1–100 characters)")
            }
            let app = try await AppSettings.create(name: name, websiteURL: signature.websiteURL, websiteField: "--website-url", on: context.application.db)
            context.console.print("Created app \(app.name)")
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
            guard (signature.jwksURL == nil) != (signature.publicKeyFile == nil) else {
                throw CommandError("give exactly one of --jwks-url or --public-key-file")
            }
            var pem: String?
            if let path = signature.publicKeyFile {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandError("--public-key-file must be a readable PEM public key") }
                pem = text
            }
            let settings = IdentitySettings(
                issuer: issuer, audience: signature.audience, anyAudience: signature.anyAudience, authorizedParty: signature.authorizedParty,
                jwksURL: signature.jwksURL, publicKeyPEM: pem,
                algorithms: signature.algorithms.map { IdentitySettings.algorithms($0) ?? [] })
            try settings.apply(to: app)
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
            let endpoint = WebhookEndpoint(db: db, sealer: context.application.sealer)
            if signature.remove {
                try await endpoint.remove(for: app)
                context.console.print("Webhooks removed for \(app.name)")
                return
            }
            guard let url = signature.url else { throw CommandError("--url must be an https URL (http only for localhost)") }
            let secret = try await endpoint.set(url: url, for: app)
            context.console.print(secret)
            context.console.output("Webhook signing secret for \(app.name): store it now, it is not shown again.", style: .info, newLine: true)
        }
    }
}
