import Fluent
import ConsoleKit
import FluentKit
import Foundation
import Vapor

/// A command-line mistake: printed as `error: …` and the process exits non-zero.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum AppLookup {
    /// Finds an app by id or by exact name; a name shared by several apps is an error.
    static func find(_ reference: String?, on db: any Database) async throws -> ClientApp {
        guard let reference, !reference.isEmpty else { throw CommandError("--app is required (an app id or name; see `alter apps list`)") }
        if let id = UUID(text: reference), let app = try await ClientApp.find(id, on: db) { return app }
        let matches = try await ClientApp.query(on: db).filter(\.$name == reference).all()
        switch matches.count {
        case 1: return matches[0]
        case 0: throw CommandError("no app '\(reference)' (see `alter apps list`)")
        default: throw CommandError("several apps are named '\(reference)'; use the app id")
        }
    }
}

/// Registers the admin commands next to Vapor's `serve` and `routes`.
func registerCommands(_ app: Application) {
    app.asyncCommands.use(AppsCommands(), as: "apps")
    app.asyncCommands.use(KeysCommands(), as: "keys")
    app.asyncCommands.use(AgentsCommands(), as: "agents")
    app.asyncCommands.use(ProvidersCommands(), as: "providers")
    app.asyncCommands.use(SecretsCommands(), as: "secrets")
    app.asyncCommands.use(OperatorsCommands(), as: "operators")
    app.asyncCommands.use(PoliciesCommands(), as: "policies")
    app.asyncCommands.use(MigrateStorageCommand(), as: "migrate")
    app.asyncCommands.use(DemoCommand(), as: "demo")
}

/// `alter migrate`: create or update the tables (also done automatically by `serve` and `demo`).
struct MigrateStorageCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Creates or updates the database tables. `serve` and `demo` do this on start." }

    func run(using context: CommandContext, signature: Signature) async throws {
        try await prepareStorage(context.application)
        context.console.print("Database is up to date.")
    }
}
