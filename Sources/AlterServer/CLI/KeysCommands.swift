import Fluent
import ConsoleKit
import Fluent
import FluentKit
import Foundation
import Vapor

/// `alter keys create|list|revoke`.
struct KeysCommands: AsyncCommandGroup {
    var help: String { "Create, list and revoke app keys." }
    var commands: [String: any AnyAsyncCommand] {
        ["create": CreateKey(), "list": ListKeys(), "revoke": RevokeKey(), "rotate-encryption": RotateEncryption()]
    }

    struct CreateKey: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
        }
        var help: String { "Creates an app key (alter_rk_…, the format the official Alter SDK accepts; it works on /v1 and /sdk) and prints it once; only its SHA-256 is stored." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let app = try await AppLookup.find(signature.app, on: context.application.db)
            let (key, secret) = try await AppKeyManagement(db: context.application.db, appID: try app.requireID()).create()
            context.console.print(secret)
            context.console.output("Store this key now: it is not shown again. Key id: \(try key.requireID().uuidString)", style: .info, newLine: true)
        }
    }

    struct ListKeys: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
        }
        var help: String { "Lists an app's keys (prefix, created, last used, revoked)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let app = try await AppLookup.find(signature.app, on: context.application.db)
            // The app's own keys; an agent's are listed by `alter agents keys list`.
            let keys = try await AppKeyManagement(db: context.application.db, appID: try app.requireID()).list()
            for key in keys {
                let state = key.revokedAt.map { "revoked \($0)" } ?? "active"
                let used = key.lastUsedAt.map { "last used \($0)" } ?? "never used"
                context.console.print("\(try key.requireID().uuidString)  \(key.displayPrefix)…  \(state)  \(used)")
            }
        }
    }

    struct RevokeKey: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "key", help: "Key id (from `alter keys list`)") var key: String?
        }
        var help: String { "Revokes a key; requests using it get 401 from then on." }

        func run(using context: CommandContext, signature: Signature) async throws {
            guard let raw = signature.key, let id = UUID(text: raw) else { throw CommandError("--key must be a key id from `alter keys list`") }
            guard let found = try await APIKey.find(id, on: context.application.db) else { throw CommandError("no key \(raw)") }
            // An agent's key keeps its own rules (the last one needs --force).
            guard found.$agent.id == nil else { throw CommandError("\(raw) is an agent key; use `alter agents keys revoke`") }
            let key = try await AppKeyManagement(db: context.application.db, appID: found.$app.id).revoke(id, now: context.application.clock.now())
            context.console.print("Revoked key \(key.displayPrefix)…")
        }
    }

    struct RotateEncryption: AsyncCommand {
        struct Signature: CommandSignature {}
        var help: String {
            "Re-encrypts every stored secret with a new key. With the key file, a new key is added to it first; with ALTER_ENCRYPTION_KEYS (never reloaded by running servers), add the new key second on every instance and restart each, then move it first on every instance and restart each, then run this (docs/operations.md)."
        }

        func run(using context: CommandContext, signature: Signature) async throws {
            let application = context.application
            let configuration = application.alterConfiguration
            if configuration.encryptionKeys == nil {
                let path = configuration.dataDirectory + "/" + EncryptionKeys.fileName
                let existing = try String(contentsOfFile: path, encoding: .utf8)
                let id = EncryptionKeys.newKeyID()
                let bytes = Data((0..<32).map { _ in UInt8.random(in: .min ... .max) })
                // The new key goes first (it encrypts); older keys stay so old values still open.
                try EncryptionKeys.writePrivately(EncryptionKeys.format([(id, bytes)]) + existing, to: path)
                application.sealer = try Sealer(keys: EncryptionKeys.load(configuration: configuration))
                context.console.print("Added encryption key \(id) to \(path)")
            }
            if configuration.encryptionKeys == nil {
                // The key just added to the file: its check value, and it is the one that seals.
                try await KeyRingCheck.verify(application.sealer, on: application.db, at: application.clock.now())
            }
            let report = try await SecretRotation.reencryptAll(db: application.db, sealer: application.sealer)
            context.console.print(
                "Re-encrypted with key \(application.sealer.activeKey.id): \(report.providerSecrets) client secrets, \(report.grantTokens) grants, \(report.webhookSecrets) webhook secrets, \(report.managedSecrets) managed secrets, \(report.verifiers) pending PKCE verifiers.")
            context.console.print("Older keys are no longer needed for stored data; keep them until every server instance runs with the new key.")
        }
    }
}
