import Fluent
import ConsoleKit
import FluentKit
import Foundation
import Vapor

/// `alter providers configure|list`.
struct ProvidersCommands: AsyncCommandGroup {
    var help: String { "Configure an app's OAuth clients and list the provider catalog." }
    var commands: [String: any AnyAsyncCommand] {
        ["configure": Configure(), "list": List()]
    }

    struct Configure: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "provider", help: "Provider id from `alter providers list`") var provider: String?
            @Option(name: "client-id", help: "OAuth client id registered at the provider") var clientID: String?
            @Option(name: "client-secret", help: "OAuth client secret (stored encrypted)") var clientSecret: String?
            @Option(name: "scopes", help: "Space- or comma-separated scopes (default: the catalog's)") var scopes: String?
            @Flag(name: "disable", help: "Keep the configuration but hide the provider from sessions") var disable: Bool
        }
        var help: String { "Adds or updates an app's OAuth client for a provider." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let db = context.application.db
            let app = try await AppLookup.find(signature.app, on: db)
            guard let providerID = signature.provider, context.application.providerCatalog[providerID] != nil else {
                throw CommandError("--provider must be a provider id from `alter providers list`\(signature.provider.map { " (got '\($0)')" } ?? "")")
            }
            guard let clientID = signature.clientID, !clientID.isEmpty, clientID.count <= 512 else { throw CommandError("--client-id is required") }
            guard let secret = signature.clientSecret, !secret.isEmpty, secret.count <= 2048 else { throw CommandError("--client-secret is required") }
            let scopes = (signature.scopes ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)

            let existing = try await ProviderConfig.query(on: db).filter(\.$app.$id == app.requireID()).filter(\.$provider == providerID).first()
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
            try await config.save(on: db)
            context.console.print("\(existing == nil ? "Configured" : "Updated") \(providerID) for \(app.name)")
        }
    }

    struct List: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "Show which providers this app has configured") var app: String?
        }
        var help: String { "Lists the provider catalog, marking what an app has configured." }

        func run(using context: CommandContext, signature: Signature) async throws {
            var configured: [String: ProviderConfig] = [:]
            if signature.app != nil {
                let app = try await AppLookup.find(signature.app, on: context.application.db)
                for config in try await ProviderConfig.query(on: context.application.db).filter(\.$app.$id == app.requireID()).all() {
                    configured[config.provider] = config
                }
            }
            for provider in context.application.providerCatalog.sorted {
                var line = "\(provider.id.padding(toLength: 16, withPad: " ", startingAt: 0)) \(provider.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(provider.category)"
                if let config = configured[provider.id] {
                    line += config.enabled ? "  [configured]" : "  [configured, disabled]"
                }
                context.console.print(line)
            }
        }
    }
}
