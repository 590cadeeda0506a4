import ConsoleKit
import Fluent
import FluentKit
import Foundation
import Vapor

/// `alter agents create|list|show|update|pause|resume|delete` and `alter agents keys …`:
/// the same `AgentRegistry` and `AgentKeyring` as `/v1/agents` and the SDK's `/sdk/agents`.
struct AgentsCommands: AsyncCommandGroup {
    var help: String { "Create and manage an app's agents (identities with their own alter_ak_ keys)." }
    var commands: [String: any AnyAsyncCommand] {
        [
            "create": CreateAgent(), "list": ListAgents(), "show": ShowAgent(), "update": UpdateAgent(),
            "pause": SetStatus(status: .inactive), "resume": SetStatus(status: .active), "delete": DeleteAgent(),
            "keys": AgentKeysCommands(),
        ]
    }

    static func registry(_ context: CommandContext, app reference: String?) async throws -> AgentRegistry {
        let app = try await AppLookup.find(reference, on: context.application.db)
        return AgentRegistry(db: context.application.db, appID: try app.requireID(), now: context.application.clock.now(), cache: context.application.appKeyCache)
    }

    static func describe(_ agent: Agent) throws -> String {
        let scopes = agent.scopesJSON.map { "scopes \($0)" } ?? "no scope allow-list"
        return "\(try agent.publicID())  \(agent.name)  \(agent.kind.rawValue)  \(agent.status.rawValue)  \(agent.displayName ?? "-")  \(scopes)"
    }

    /// A JSON option (`--metadata`, `--scopes`), decoded as `T`.
    static func json<T: Decodable>(_ raw: String?, as type: T.Type, option: String) throws -> T? {
        guard let raw else { return nil }
        guard let value = try? JSONDecoder().decode(T.self, from: Data(raw.utf8)) else {
            throw CommandError("--\(option) must be JSON, e.g. \(option == "scopes" ? #"'{"github":["repo"]}'"# : #"'{"team":"ops"}'"#)")
        }
        return value
    }

    struct CreateAgent: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "name", help: "Immutable name: lowercase letters, digits, - and _") var name: String?
            @Option(name: "display-name", help: "Name shown to people (the Connect pages)") var displayName: String?
            @Option(name: "type", help: "agent (default) or service") var type: String?
            @Option(name: "scopes", help: #"Per-provider allow-list as JSON, e.g. '{"github":["repo"]}' (omit: no allow-list)"#) var scopes: String?
            @Option(name: "metadata", help: "JSON object, at most 8 KB") var metadata: String?
        }
        var help: String { "Creates an agent and its first key (alter_ak_…), printed once; only its SHA-256 is stored." }

        func run(using context: CommandContext, signature: Signature) async throws {
            guard let name = signature.name else { throw CommandError("--name is required") }
            var kind = Agent.Kind.agent
            if let raw = signature.type {
                guard let parsed = Agent.Kind(rawValue: raw) else { throw CommandError("--type must be agent or service") }
                kind = parsed
            }
            let creation = AgentRegistry.Creation(
                name: name, displayName: signature.displayName, kind: kind,
                metadata: try AgentsCommands.json(signature.metadata, as: [String: WireValue].self, option: "metadata"),
                scopes: try AgentsCommands.json(signature.scopes, as: [String: [String]].self, option: "scopes"))
            let created = try await AgentsCommands.registry(context, app: signature.app).create(creation)
            context.console.print(created.secret)
            context.console.output(
                "Store this key now: it is not shown again. Agent id: \(try created.agent.publicID()), key id: \(try created.key.requireID().lowercasedString)",
                style: .info, newLine: true)
        }
    }

    struct ListAgents: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Flag(name: "include-revoked", help: "Also list revoked agents") var includeRevoked: Bool
        }
        var help: String { "Lists an app's agents (id, name, type, status, display name, scopes)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let page = try await AgentsCommands.registry(context, app: signature.app).list(includeRevoked: signature.includeRevoked, limit: 1000)
            if page.agents.isEmpty { context.console.print("No agents yet. Create one with `alter agents create --app … --name …`.") }
            for agent in page.agents { context.console.print(try AgentsCommands.describe(agent)) }
        }
    }

    struct ShowAgent: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "agent", help: "Agent id or name") var agent: String?
        }
        var help: String { "Shows one agent." }

        func run(using context: CommandContext, signature: Signature) async throws {
            guard let reference = signature.agent else { throw CommandError("--agent is required (an agent id or name)") }
            let agent = try await AgentsCommands.registry(context, app: signature.app).find(reference)
            context.console.print(try AgentsCommands.describe(agent))
            context.console.print("metadata \(agent.metadataJSON)  version \(agent.version)")
        }
    }

    struct UpdateAgent: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "agent", help: "Agent id or name") var agent: String?
            @Option(name: "display-name", help: "New display name") var displayName: String?
            @Option(name: "scopes", help: "New full allow-list as JSON (replaces the old one)") var scopes: String?
            @Option(name: "metadata", help: "New metadata as JSON (replaces the old one)") var metadata: String?
        }
        var help: String { "Changes an agent's display name, scopes or metadata (its name never changes)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            guard let reference = signature.agent else { throw CommandError("--agent is required (an agent id or name)") }
            let registry = try await AgentsCommands.registry(context, app: signature.app)
            let scopes = try AgentsCommands.json(signature.scopes, as: [String: [String]].self, option: "scopes")
            // The operator edits the current row: its version is the one the change is based on.
            let current = try await registry.find(reference)
            let agent = try await registry.update(reference, .init(
                displayName: signature.displayName, metadata: try AgentsCommands.json(signature.metadata, as: [String: WireValue].self, option: "metadata"),
                scopes: scopes, expectedVersion: current.version))
            context.console.print(try AgentsCommands.describe(agent))
        }
    }

    struct SetStatus: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "agent", help: "Agent id or name") var agent: String?
        }
        let status: Agent.Status
        var help: String {
            status == .inactive ? "Pauses an agent: its keys get agent_inactive until it is resumed." : "Resumes a paused agent."
        }

        func run(using context: CommandContext, signature: Signature) async throws {
            guard let reference = signature.agent else { throw CommandError("--agent is required (an agent id or name)") }
            let agent = try await AgentsCommands.registry(context, app: signature.app).update(reference, .init(status: status))
            context.console.print(try AgentsCommands.describe(agent))
        }
    }

    struct DeleteAgent: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "agent", help: "Agent id or name") var agent: String?
        }
        var help: String { "Revokes an agent and all its keys, for good (its name is not reused)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            guard let reference = signature.agent else { throw CommandError("--agent is required (an agent id or name)") }
            let agent = try await AgentsCommands.registry(context, app: signature.app).revoke(reference)
            context.console.print(try AgentsCommands.describe(agent))
        }
    }
}

/// `alter agents keys list|create|deprecate|undeprecate|revoke`.
struct AgentKeysCommands: AsyncCommandGroup {
    var help: String { "Mint, list, deprecate and revoke an agent's keys." }
    var commands: [String: any AnyAsyncCommand] {
        [
            "list": ListKeys(), "create": MintKey(), "deprecate": ChangeKey(action: .deprecate), "undeprecate": ChangeKey(action: .undeprecate),
            "revoke": ChangeKey(action: .revoke),
        ]
    }

    struct Target: CommandSignature {
        @Option(name: "app", help: "App id or name") var app: String?
        @Option(name: "agent", help: "Agent id or name") var agent: String?
        @Option(name: "key", help: "Key id (from `alter agents keys list`)") var key: String?
        @Flag(name: "force", help: "Revoke even the agent's last key (locks it out until a new key is minted)") var force: Bool
    }

    static func keyring(_ context: CommandContext, _ signature: Target) async throws -> AgentKeyring {
        guard let reference = signature.agent else { throw CommandError("--agent is required (an agent id or name)") }
        let registry = try await AgentsCommands.registry(context, app: signature.app)
        return registry.keyring(try await registry.find(reference))
    }

    static func describe(_ key: APIKey) throws -> String {
        let state = key.revokedAt.map { "revoked \($0)" } ?? key.deprecatedAt.map { "deprecated \($0)" } ?? "active"
        let used = key.lastUsedAt.map { "last used \($0)" } ?? "never used"
        return "\(try key.requireID().lowercasedString)  \(key.name ?? "")  \(key.displayPrefix)…  \(state)  \(used)"
    }

    struct ListKeys: AsyncCommand {
        var help: String { "Lists an agent's keys (prefix, state, last use); never the keys themselves." }
        func run(using context: CommandContext, signature: Target) async throws {
            for key in try await AgentKeysCommands.keyring(context, signature).list() { context.console.print(try AgentKeysCommands.describe(key)) }
        }
    }

    struct MintKey: AsyncCommand {
        var help: String { "Mints another key for an agent (for rotation) and prints it once." }
        func run(using context: CommandContext, signature: Target) async throws {
            let minted = try await AgentKeysCommands.keyring(context, signature).mint()
            context.console.print(minted.secret)
            context.console.output("Store this key now: it is not shown again. Key id: \(try minted.key.requireID().lowercasedString)", style: .info, newLine: true)
        }
    }

    struct ChangeKey: AsyncCommand {
        enum Action { case deprecate, undeprecate, revoke }
        let action: Action
        var help: String {
            switch action {
            case .deprecate: "Deprecates a key: it still works, and every answer says X-Alter-Key-Deprecated: true."
            case .undeprecate: "Clears a key's deprecation."
            case .revoke: "Revokes a key for good; the agent's last key needs --force."
            }
        }

        func run(using context: CommandContext, signature: Target) async throws {
            guard let key = signature.key else { throw CommandError("--key is required (a key id from `alter agents keys list`)") }
            let keyring = try await AgentKeysCommands.keyring(context, signature)
            let changed: APIKey
            switch action {
            case .deprecate: changed = try await keyring.deprecate(key)
            case .undeprecate: changed = try await keyring.undeprecate(key)
            case .revoke: changed = try await keyring.revoke(key, force: signature.force)
            }
            context.console.print(try AgentKeysCommands.describe(changed))
        }
    }
}
