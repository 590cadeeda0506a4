import AlterVault
import Foundation
import Vapor

/// A web app that lets a person connect an account through Alter Vault and call its API.
///
/// ```sh
/// swift run alter demo                                   # terminal 1: prints an app key
/// ALTER_URL=http://localhost:4000 ALTER_API_KEY=alter_rk_… swift run Quickstart   # terminal 2
/// ```
/// Then open http://localhost:3000.
@main
enum QuickstartApp {
    static func main() async throws {
        let configuration = try QuickstartConfiguration(environment: ProcessInfo.processInfo.environment)
        // The app key stays here, on the backend: the browser only ever sees session tokens.
        let vault = AlterVault(apiKey: configuration.apiKey, caller: "quickstart", baseURL: configuration.alterURL)

        let app = try await Application.make(.detect())
        app.http.server.configuration.hostname = "127.0.0.1"
        app.http.server.configuration.port = configuration.port
        routes(app, vault: vault, accounts: ConnectedAccounts(), origin: configuration.origin)
        app.logger.notice("Quickstart on \(configuration.origin), using the vault at \(configuration.alterURL)")
        do {
            try await app.execute()
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }
}

/// `ALTER_URL`, `ALTER_API_KEY` and `PORT`, read once at start.
struct QuickstartConfiguration {
    var alterURL: String
    var apiKey: String
    var port: Int

    /// This app's own origin: where the widget's popup posts its result. A fixed value, never
    /// taken from the request's `Host` header, which the browser's user controls.
    var origin: String { "http://localhost:\(port)" }

    init(environment: [String: String]) throws {
        guard let apiKey = environment["ALTER_API_KEY"], !apiKey.isEmpty else {
            throw QuickstartError("Set ALTER_API_KEY to an app key (`swift run alter demo` prints one).")
        }
        self.apiKey = apiKey
        alterURL = environment["ALTER_URL"] ?? "http://localhost:4000"
        port = Int(environment["PORT"] ?? "") ?? 3000
    }
}

struct QuickstartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
