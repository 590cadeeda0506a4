import Fluent
import Foundation
import Vapor

/// The `alter` executable: configuration from the environment, then Vapor's command runner
/// (`serve`, `demo`, `migrate`, `apps`, `keys`, `agents`, `providers`, `secrets`, `operators`, `policies`, `routes`).
public enum AlterCommandLine {
    /// Commands that need the tables to exist before they run.
    static let storageCommands: Set<String> = ["serve", "apps", "keys", "providers", "agents", "secrets", "operators", "policies"]

    /// Runs one command and returns the process exit status.
    public static func run(arguments: [String]) async -> Int32 {
        var environment = Environment(name: AlterConfiguration.environmentName(), arguments: arguments)
        // `--log <level>` or LOG_LEVEL; Vapor's default for production is `notice`.
        if AlterConfiguration.logFormat() == .json {
            try? LoggingSystem.bootstrap(from: &environment) { level in { label in JSONLogHandler(label: label, level: level) } }
        } else {
            try? LoggingSystem.bootstrap(from: &environment)
        }
        let app: Application
        do {
            app = try await Application.make(environment)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            return 1
        }
        var status: Int32 = 0
        do {
            var configuration = try AlterConfiguration()
            let command = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }) ?? "serve"
            if arguments.contains("--help") || arguments.contains("-h") {
                // Help only lists commands: no database, no key file, no background work.
                app.alterConfiguration = configuration
                registerCommands(app)
                try await app.execute()
                try? await app.asyncShutdown()
                return 0
            }
            // Only a serving process delivers webhooks and settles lost refreshes, and only after its tables exist (a CLI
            // command's app boots too; `demo` turns delivery on for the vault it starts).
            configuration.deliversWebhooks = configuration.deliversWebhooks && command == "serve"
            configuration.recoversRefreshes = configuration.recoversRefreshes && command == "serve"
            try await configure(app, with: configuration)
            if storageCommands.contains(command) {
                try await prepareStorage(app)
            }
            try await app.execute()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            status = 1
        }
        try? await app.asyncShutdown()
        return status
    }
}
