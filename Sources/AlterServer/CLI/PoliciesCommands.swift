import ConsoleKit
import Fluent
import FluentKit
import Foundation
import Vapor

/// `alter policies …`: an app's policy rules and its held calls, through `PolicyStore` (the
/// same checks as `/v1/policies`). A rule written here reaches a running server within 5 s
/// (its rule cache's lifetime).
struct PoliciesCommands: AsyncCommandGroup {
    var help: String { "Policy rules (time window, IP allow-list, rate limit, grant lifetime, allowed requests, approval) and approvals." }
    var commands: [String: any AnyAsyncCommand] {
        ["create": Create(), "list": List(), "delete": Delete(), "approvals": Approvals()]
    }

    static func store(_ context: CommandContext, app reference: String?) async throws -> PolicyStore {
        let app = try await AppLookup.find(reference, on: context.application.db)
        return PolicyStore(db: context.application.db, index: context.application.policyIndex, appID: try app.requireID())
    }

    static func describe(_ rule: PolicyRule) throws -> String {
        "\(try rule.requireID().lowercasedString)  \(rule.scope.rawValue)\(rule.target.map { ":" + $0 } ?? "")  \(rule.kind)  \(rule.settings)"
    }

    /// An `APIError` from the store as the CLI's `error: …` line.
    static func cli<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as APIError {
            throw CommandError(error.message)
        }
    }

    struct Create: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Option(name: "scope", help: "app, provider, agent or grant (default: app)") var scope: String?
            @Option(name: "target", help: "Provider id / secret slug, agent id or grant id (not for app)") var target: String?
            @Option(name: "kind", help: "time_window, ip_allowlist, rate_limit, grant_lifetime, allowed_requests or requires_approval") var kind: String?
            @Option(name: "settings", help: "The kind's settings as a JSON object, e.g. '{\"limit\": 60}'") var settings: String?
            @Option(name: "description", help: "A note for people") var description: String?
        }
        var help: String { "Adds a rule (rules only restrict)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let store = try await PoliciesCommands.store(context, app: signature.app)
            guard let kind = signature.kind else { throw CommandError("--kind is required") }
            let rule = try await PoliciesCommands.cli {
                try await store.create(.init(scope: signature.scope ?? "app", target: signature.target, kind: kind, settings: signature.settings ?? "{}", description: signature.description))
            }
            context.console.print("id: \(try rule.requireID().lowercasedString)")
            context.console.print(try PoliciesCommands.describe(rule))
        }
    }

    struct List: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
        }
        var help: String { "Lists the app's rules, oldest first." }

        func run(using context: CommandContext, signature: Signature) async throws {
            for rule in try await PoliciesCommands.store(context, app: signature.app).list() {
                context.console.print(try PoliciesCommands.describe(rule))
            }
        }
    }

    struct Delete: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
            @Argument(name: "rule", help: "The rule's id") var rule: String
        }
        var help: String { "Deletes a rule." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let store = try await PoliciesCommands.store(context, app: signature.app)
            try await PoliciesCommands.cli { try await store.delete(signature.rule) }
            context.console.print("deleted \(signature.rule)")
        }
    }

    struct Approvals: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "app", help: "App id or name") var app: String?
        }
        var help: String { "Lists the app's held calls, newest first (decide them through the approver link)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let app = try await AppLookup.find(signature.app, on: context.application.db)
            let held = try await Approval.query(on: context.application.db).filter(\.$app.$id == (try app.requireID())).sort(\.$createdAt, .descending).limit(200).all()
            for approval in held {
                let status = approval.status == .pending && approval.expiresAt <= context.application.clock.now() ? "expired" : approval.status.rawValue
                context.console.print("\(try approval.requireID().lowercasedString)  \(status)  \(approval.method) \(URLComponents(string: approval.url)?.host ?? "?")  \(approval.reason ?? "")")
            }
        }
    }
}
