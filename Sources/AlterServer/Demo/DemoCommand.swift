import Fluent
import ConsoleKit
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Vapor

/// `alter demo`: the vault with the sandbox provider on one port, and a small demo app on
/// another port — a different origin, so results cross origins exactly as in production.
struct DemoCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "hostname", help: "Address to listen on (default 127.0.0.1)") var hostname: String?
        @Option(name: "port", help: "Port of the vault (default 4000)") var port: Int?
        @Option(name: "demo-port", help: "Port of the demo app (default 4001)") var demoPort: Int?
    }
    var help: String { "Runs the vault with the sandbox provider and a demo app: open the demo URL and click Connect." }

    func run(using context: CommandContext, signature: Signature) async throws {
        var configuration = context.application.alterConfiguration
        configuration.hostname = signature.hostname ?? configuration.hostname
        if let port = signature.port {
            configuration.port = port
            if !configuration.publicURLIsExplicit { configuration.publicURL = "http://localhost:\(port)" }
        }
        configuration.sandboxEnabled = true
        // The command line turns delivery off for every command but `serve`; this vault serves.
        configuration.deliversWebhooks = true
        configuration.recoversRefreshes = true
        let demoPort = signature.demoPort ?? configuration.port + 1
        let demoOrigin = "http://localhost:\(demoPort)"

        let vault = try await Application.make(context.application.environment)
        let demo = try await Application.make(context.application.environment)
        do {
            try await configure(vault, with: configuration)
            try await prepareStorage(vault)
            // Test-only, and only here: `serve` never reads this setting (AlterConfiguration).
            if configuration.demoWeakPasswordHashing { vault.operatorPasswordCost = .weakForTests }
            let appKey = try await DemoSetup.prepare(vault, demoOrigin: demoOrigin)
            let operatorPassword = configuration.portalEnabled ? try await DemoSetup.prepareOperator(vault) : nil
            DemoApp.configure(demo, vaultURL: configuration.publicURL, appKey: appKey, client: vault.http.client.shared)

            try await vault.asyncBoot()
            try await demo.asyncBoot()
            try await vault.server.start(address: .hostname(configuration.hostname, port: configuration.port))
            try await demo.server.start(address: .hostname(configuration.hostname, port: demoPort))

            context.console.print("Alter Vault: \(configuration.publicURL)")
            context.console.print("Demo app: \(demoOrigin)")
            context.console.print("App key: \(appKey)")
            // The official SDK takes plain http only on literal loopback (127.0.0.1, ::1, localhost).
            let sdkBaseURL = configuration.publicURL.replacingOccurrences(of: "://localhost:", with: "://127.0.0.1:")
            context.console.print("Official Alter SDK: ALTER_BASE_URL=\(sdkBaseURL) ALTER_API_KEY=\(appKey)")
            if let operatorPassword {
                context.console.print("Portal: \(configuration.publicURL)/portal (sign in as \(DemoSetup.operatorEmail), password: \(operatorPassword))")
            }
            if configuration.demoWeakPasswordHashing {
                context.console.print("Operator passwords are hashed with a weak, test-only scrypt cost (ALTER_DEMO_WEAK_PASSWORD_HASHING).")
            }
            context.console.print("Open \(demoOrigin) and click Connect. Press Ctrl-C to stop.")

            await waitForTerminationSignal()
            await demo.server.shutdown()
            await vault.server.shutdown()
        } catch {
            try? await demo.asyncShutdown()
            try? await vault.asyncShutdown()
            throw error
        }
        try await demo.asyncShutdown()
        try await vault.asyncShutdown()
    }
}

/// Suspends until SIGINT or SIGTERM.
func waitForTerminationSignal() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumed = NIOLockedValueBox(false)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let first = resumed.withLockedValue { value -> Bool in
                    defer { value = true }
                    return !value
                }
                if first { continuation.resume() }
            }
            source.resume()
            sources.append(source)
        }
        // Keep the sources alive for the life of the process.
        DemoSignalSources.sources = sources
    }
}

private enum DemoSignalSources {
    // Written once, before any signal can arrive; only keeps the sources from being freed.
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
}

/// The demo app's records in the vault: an app for the demo origin, both sandbox providers,
/// and a fresh key (earlier demo keys are revoked, so only the printed key works).
enum DemoSetup {
    static let appName = "Demo app"
    static let operatorEmail = "demo@alter.local"

    /// The demo operator, with a new random password each run (printed once, like the key).
    static func prepareOperator(_ vault: Application) async throws -> String {
        let password = SecretToken.randomString(bytes: 12)
        _ = try await OperatorAccounts(application: vault, db: vault.db).create(email: operatorEmail, password: password, reset: true)
        return password
    }

    static func prepare(_ vault: Application, demoOrigin: String) async throws -> String {
        let db = vault.db
        let app: ClientApp
        if let existing = try await ClientApp.query(on: db).filter(\.$name == appName).first() {
            app = existing
            app.websiteURL = demoOrigin
            try await app.update(on: db)
        } else {
            app = ClientApp(name: appName, websiteURL: demoOrigin)
            try await app.create(on: db)
        }
        let appID = try app.requireID()
        for provider in SandboxProviders.ids where try await ProviderConfig.query(on: db).filter(\.$app.$id == appID).filter(\.$provider == provider).first() == nil {
            let config = ProviderConfig()
            config.id = UUID()
            config.$app.id = appID
            config.provider = provider
            config.clientID = "demo-\(provider)"
            try config.setClientSecret(SecretToken.randomString(bytes: 24), using: vault.sealer)
            config.scopes = []
            config.enabled = true
            try await config.create(on: db)
        }
        try await APIKey.query(on: db).filter(\.$app.$id == appID).filter(\.$revokedAt == nil)
            .set(\.$revokedAt, to: vault.clock.now()).update()
        let (key, secret) = APIKey.make(for: appID)
        try await key.create(on: db)
        return secret
    }
}
