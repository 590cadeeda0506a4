import Fluent
import Foundation
import Vapor

/// The `alter` executable: configuration from the environment, then Vapor's command runner
/// (`serve`, `demo`, `migrate`, `apps`, `keys`, `providers`, `secrets`, `routes`).
public enum AlterCommandLine {
    /// Commands that need the tables to exist before they run.
    static let storageCommands: Set<String> = ["serve", "apps", "keys", "providers", "secrets"]

    /// Runs one command and returns the process exit status.
    public static func run(arguments: [String]) async -> Int32 {
        var environment = Environment(name: AlterConfiguration.environmentName(), arguments: arguments)
        // `--log <level>` or LOG_LEVEL; Vapor's default for production is `notice`.
        try? LoggingSystem.bootstrap(from: &environment)
        let app: Application
        do {
            app = try await Application.make(environment)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            return 1
        }
        var status: Int32 = 0
        do {
            let configuration = try AlterConfiguration()
            try await configure(app, with: configuration)
            let command = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }) ?? "serve"
            if storageCommands.contains(command), !arguments.contains("--help"), !arguments.contains("-h") {
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
