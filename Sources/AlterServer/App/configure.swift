import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import NIOCore
import Vapor

/// The one wiring place: databases, migrations, services and routes for a configuration.
public func configure(_ app: Application, with configuration: AlterConfiguration) async throws {
    app.alterConfiguration = configuration
    AlterMetrics.bootstrap()
    // Vapor's trace output prints raw request heads: app keys, session tokens, OAuth codes.
    // Debug is as verbose as the server gets.
    if app.logger.logLevel < .debug { app.logger.logLevel = .debug }
    app.http.server.configuration.hostname = configuration.hostname
    app.http.server.configuration.port = configuration.port
    // The default server header and request logging stay; URLs of /connect carry a token
    // only until the first redirect, and RequestRedactionMiddleware keeps it out of logs.
    app.middleware = Middlewares()
    // First, so every response (errors, 404s, pages) carries X-Request-ID and every later log line the id.
    app.middleware.use(RequestIDMiddleware(trustedPeers: configuration.trustedProxies))
    let inFlight = InFlightRequests()
    app.middleware.use(inFlight)
    app.middleware.use(RequestRedactionMiddleware())
    app.middleware.use(APIErrorMiddleware())

    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .iso8601
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    ContentConfiguration.global.use(encoder: encoder, for: .json)
    ContentConfiguration.global.use(decoder: decoder, for: .json)

    try configureDatabase(app, configuration)
    app.migrations.add(AlterMigrations.all)

    // With the key file, a rotation run while this server serves adds a key it must pick up.
    let reloader = configuration.encryptionKeys == nil ? KeyRingReloader { try EncryptionKeys.load(configuration: configuration) } : nil
    app.sealer = try Sealer(keys: EncryptionKeys.load(configuration: configuration), reloader: reloader)
    var providers = try ProviderCatalog.loadShipped()
    if configuration.sandboxEnabled {
        providers += SandboxProviders.catalogEntries(publicURL: configuration.publicURL, extraAPIHosts: configuration.sandboxExtraAPIHosts)
    }
    app.providerCatalog = try ProviderCatalog(providers: providers)
    app.useProviderHTTPClient()
    app.refreshGate = RefreshGate()
    app.appKeyCache = AppKeyCache()
    // SQLite is one instance; instances sharing PostgreSQL must see each other's nonces.
    if case .postgres = configuration.database { app.nonceStore = PostgresNonceStore() } else { app.nonceStore = MemoryNonceStore() }
    app.useAuditLog()
    app.jwksCache = JWKSCache(client: app.providerHTTP)

    if configuration.deliversWebhooks { app.lifecycle.use(WebhookDeliveryLoop()) }
    if configuration.recoversRefreshes { app.lifecycle.use(RefreshRecovery()) }

    try routes(app)
    registerCommands(app)
    // Registered last so it shuts down first: requests finish before the audit log's final
    // flush and before the databases close.
    app.lifecycle.use(inFlight)
}

private func configureDatabase(_ app: Application, _ configuration: AlterConfiguration) throws {
    switch configuration.database {
    case .sqlite(let path):
        // Its own blocking pool, a thread for each SQLite connection (one per event loop) and
        // two more: SQLiteNIO's busy handler retries on a pool thread for as long as another
        // connection holds the write lock, and that holder needs a thread of the same pool to
        // finish. On the shared 2-thread singleton (also scrypt's and other apps' in one
        // process), two waiters froze every SQLite connection of the process for good.
        app.threadPool = NIOThreadPool(numberOfThreads: app.eventLoopGroup.makeIterator().reduce(0) { n, _ in n + 1 } + 2)
        let directory = (path as NSString).deletingLastPathComponent
        // Owner only: the database holds ciphertexts and users' emails (review F17). SQLite
        // gives its -wal and -shm files the main file's mode, so creating that one 0600 suffices.
        if !directory.isEmpty { try EncryptionKeys.createPrivateDirectory(directory) }
        if !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
            if fd >= 0 { close(fd) }
        }
        app.databases.use(.sqlite(.file(path), sqlLogLevel: .debug), as: .sqlite)
        app.sqliteDirectReads = SQLiteDirectReads(path: path)
        app.lifecycle.use(Application.SQLiteDirectReadsLifecycle())
    case .postgres(let url):
        var postgres = try SQLPostgresConfiguration(url: url)
        postgres.searchPath = nil
        // Several connections per event loop: a refresh holds one (its advisory lock) while it
        // waits on the provider, and other requests must not queue behind it.
        app.databases.use(.postgres(configuration: postgres, maxConnectionsPerEventLoop: 8, sqlLogLevel: .debug), as: .psql)
    }
}

/// Makes the database ready: WAL for SQLite, migrations, then the key-ring checks (the same
/// keys as the other instances', every key of a stored secret present).
/// `serve`, `demo` and `migrate` call it; the server refuses to start if it throws.
public func prepareStorage(_ app: Application) async throws {
    if case .sqlite = app.alterConfiguration.database, let sql = app.db as? any SQLDatabase {
        // WAL: one fsync per commit instead of several (DESIGN.md, Storage).
        try await sql.raw("PRAGMA journal_mode=WAL").run()
        if app.alterConfiguration.sqliteRelaxedDurability {
            // A per-connection setting: there is one SQLite connection per event loop.
            for eventLoop in app.eventLoopGroup.makeIterator() {
                if let connection = app.databases.database(.sqlite, logger: app.logger, on: eventLoop) as? any SQLDatabase {
                    try await connection.raw("PRAGMA synchronous=NORMAL").run()
                }
            }
        }
    }
    try await app.autoMigrate()
    try await KeyRingCheck.verify(app.sealer, on: app.db, at: app.clock.now())
    try await SealedSecretsCheck.verifyAllKeysPresent(db: app.db, sealer: app.sealer)
}
