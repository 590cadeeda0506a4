import Fluent
import Foundation
import NIOCore
import Vapor

/// Everything the server needs to know about its surroundings, read once at start-up.
///
/// Nothing else in the code reads the environment: tests build a configuration directly,
/// the CLI builds one with `AlterConfiguration(environment:)`.
public struct AlterConfiguration: Sendable {
    public enum Database: Sendable, Equatable {
        /// An SQLite file (the default: `{dataDirectory}/alter.sqlite`).
        case sqlite(path: String)
        /// A PostgreSQL server, as a `postgres://` URL.
        case postgres(url: String)
    }

    /// The externally visible base URL, e.g. `https://vault.example.com` (no trailing slash).
    public var publicURL: String
    /// Where the SQLite file and the generated encryption key file live.
    public var dataDirectory: String
    public var database: Database
    /// `ALTER_ENCRYPTION_KEYS`: `id:base64key[,id:base64key…]`; the first key encrypts.
    public var encryptionKeys: String?
    public var hostname: String
    public var port: Int
    /// How long a minted Connect session token stays valid.
    public var sessionTTL: TimeInterval
    /// Serve the built-in sandbox OAuth provider under `/sandbox/`.
    public var sandboxEnabled: Bool
    /// Use `synchronous=NORMAL` instead of `FULL` for SQLite (faster; a power cut may lose the last commits).
    public var sqliteRelaxedDurability: Bool
    /// Extra API hosts for the sandbox providers (loopback only), so benchmarks can proxy
    /// to a static upstream: `ALTER_SANDBOX_API_HOSTS=http://127.0.0.1:9000`.
    public var sandboxExtraAPIHosts: [String] = []
    /// Deliver queued webhooks from a background task (tests turn it off and deliver by hand).
    public var deliversWebhooks = true
    /// Settle refreshes whose answer a crash lost, from a background task (`RefreshRecovery`);
    /// only a serving process does.
    public var recoversRefreshes = true
    /// How long a request waits for another caller's refresh of the same grant before it
    /// answers `token_refresh_in_progress` (`ALTER_REFRESH_WAIT_SECONDS`, 0.1–120).
    public var refreshWaitLimit: TimeInterval = 10
    /// How long an approved call may be executing before any instance records it as failed
    /// (`approval_interrupted`: the instance running it crashed or hung), counted from the
    /// approval (`ALTER_APPROVAL_EXECUTION_SECONDS`, 1–3600). Longer than a proxied call's own
    /// 30 s deadline plus a refresh, so a live call is cut by its deadline first.
    public var approvalExecutionLimit: TimeInterval = 120
    /// The whole-call deadline (head and body) of the vault's own calls to providers: token,
    /// userinfo, revocation. A refresh holds its grant's lock for at most this long.
    public var providerCallTimeout: TimeInterval = 10
    /// False when `publicURL` was derived from the port (then `demo --port` may change it).
    public var publicURLIsExplicit: Bool
    /// Peers (IP addresses) whose `X-Request-ID` is kept (`ALTER_TRUSTED_PROXIES`, comma-separated;
    /// default: loopback, where a reverse proxy on the same host connects from; empty: none).
    public var trustedProxies: Set<String> = ["127.0.0.1", "::1"]
    /// The bearer token `GET /metrics` requires (`ALTER_METRICS_TOKEN`, at least 16 characters);
    /// nil turns `/metrics` off (404).
    public var metricsToken: String?
    /// Serve the operators' portal under `/portal` (`ALTER_PORTAL=off` turns it off: 404).
    public var portalEnabled = true
    /// A portal session ends this long after sign-in, however active.
    public var portalSessionLifetime: TimeInterval = 12 * 3600
    /// … and after this long without a request (`ALTER_PORTAL_IDLE_MINUTES`, 1–1440).
    public var portalIdleTimeout: TimeInterval = 30 * 60
    /// `ALTER_DEMO_WEAK_PASSWORD_HASHING=1`: `alter demo` hashes the operator passwords it sets
    /// with a cheap scrypt cost (`OperatorPassword.Cost.weakForTests`), for the e2e tests, whose
    /// debug build takes seconds per standard hash on a loaded machine. Only `alter demo` reads
    /// it; `alter serve` and the CLI always hash with `OperatorPassword.Cost.standard`.
    public var demoWeakPasswordHashing = false
    /// How outbound calls resolve host names (the system resolver; tests give names their own answers).
    var hostResolver: HostResolver = .system

    public init(
        publicURL: String,
        dataDirectory: String,
        database: Database? = nil,
        encryptionKeys: String? = nil,
        hostname: String = "127.0.0.1",
        port: Int = 4000,
        sessionTTL: TimeInterval = 600,
        sandboxEnabled: Bool = false,
        sqliteRelaxedDurability: Bool = false,
        publicURLIsExplicit: Bool = true
    ) {
        self.publicURLIsExplicit = publicURLIsExplicit
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.dataDirectory = dataDirectory
        self.database = database ?? .sqlite(path: dataDirectory + "/alter.sqlite")
        self.encryptionKeys = encryptionKeys
        self.hostname = hostname
        self.port = port
        self.sessionTTL = sessionTTL
        self.sandboxEnabled = sandboxEnabled
        self.sqliteRelaxedDurability = sqliteRelaxedDurability
    }

    /// Reads `ALTER_*`, `DATABASE_URL`, `HOST` and `PORT` from the process environment.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let port = Int(environment["ALTER_PORT"] ?? environment["PORT"] ?? "") ?? 4000
        let hostname = environment["ALTER_HOST"] ?? environment["HOST"] ?? "127.0.0.1"
        let dataDirectory = environment["ALTER_DATA_DIR"] ?? "./data"
        let publicURL = environment["ALTER_PUBLIC_URL"] ?? "http://localhost:\(port)"
        guard let parsed = URL(string: publicURL), let scheme = parsed.scheme, ["http", "https"].contains(scheme),
            parsed.host != nil, parsed.query == nil, parsed.fragment == nil
        else {
            throw ConfigurationError("ALTER_PUBLIC_URL must be an absolute http(s) URL without query or fragment, got \(publicURL)")
        }
        var ttl: TimeInterval = 600
        if let raw = environment["ALTER_SESSION_TTL_SECONDS"] {
            guard let seconds = TimeInterval(raw), seconds >= 30, seconds <= 3600 else {
                throw ConfigurationError("ALTER_SESSION_TTL_SECONDS must be a number of seconds between 30 and 3600")
            }
            ttl = seconds
        }
        self.init(
            publicURL: publicURL,
            dataDirectory: dataDirectory,
            database: environment["DATABASE_URL"].map { .postgres(url: $0) },
            encryptionKeys: environment["ALTER_ENCRYPTION_KEYS"],
            hostname: hostname,
            port: port,
            sessionTTL: ttl,
            sandboxEnabled: ["1", "true", "yes"].contains(environment["ALTER_SANDBOX"]?.lowercased() ?? ""),
            sqliteRelaxedDurability: environment["ALTER_SQLITE_SYNCHRONOUS"]?.uppercased() == "NORMAL",
            publicURLIsExplicit: environment["ALTER_PUBLIC_URL"] != nil
        )
        if let raw = environment["ALTER_APPROVAL_EXECUTION_SECONDS"] {
            guard let seconds = TimeInterval(raw), (1...3600).contains(seconds) else {
                throw ConfigurationError("ALTER_APPROVAL_EXECUTION_SECONDS must be a number of seconds between 1 and 3600")
            }
            approvalExecutionLimit = seconds
        }
        if let raw = environment["ALTER_REFRESH_WAIT_SECONDS"] {
            guard let seconds = TimeInterval(raw), seconds >= 0.1, seconds <= 120 else {
                throw ConfigurationError("ALTER_REFRESH_WAIT_SECONDS must be a number of seconds between 0.1 and 120")
            }
            refreshWaitLimit = seconds
        }
        if let raw = environment["ALTER_TRUSTED_PROXIES"] {
            let peers = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard peers.allSatisfy({ (try? SocketAddress(ipAddress: $0, port: 0)) != nil }) else {
                throw ConfigurationError("ALTER_TRUSTED_PROXIES takes IP addresses, comma-separated, like 127.0.0.1,10.0.0.5")
            }
            trustedProxies = Set(peers)
        }
        if let token = environment["ALTER_METRICS_TOKEN"] {
            guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw ConfigurationError("ALTER_METRICS_TOKEN must be at least 16 printable characters")
            }
            metricsToken = token
        }
        if let raw = environment["ALTER_PORTAL"] {
            guard let value = ["on": true, "1": true, "true": true, "off": false, "0": false, "false": false][raw.lowercased()] else {
                throw ConfigurationError("ALTER_PORTAL must be on or off")
            }
            portalEnabled = value
        }
        if let raw = environment["ALTER_DEMO_WEAK_PASSWORD_HASHING"] {
            guard let value = ["1": true, "true": true, "0": false, "false": false][raw.lowercased()] else {
                throw ConfigurationError("ALTER_DEMO_WEAK_PASSWORD_HASHING must be 1 or 0")
            }
            demoWeakPasswordHashing = value
        }
        if let raw = environment["ALTER_PORTAL_IDLE_MINUTES"] {
            guard let minutes = Double(raw), minutes >= 1, minutes <= 1440 else {
                throw ConfigurationError("ALTER_PORTAL_IDLE_MINUTES must be a number of minutes between 1 and 1440")
            }
            portalIdleTimeout = minutes * 60
        }
        if let hosts = environment["ALTER_SANDBOX_API_HOSTS"] {
            sandboxExtraAPIHosts = try hosts.split(separator: ",").map { raw in
                guard let origin = try? AllowedOrigin(parsing: String(raw)), AllowedOrigin.isLoopback(origin.host) else {
                    throw ConfigurationError("ALTER_SANDBOX_API_HOSTS takes loopback origins like http://127.0.0.1:9000")
                }
                return origin.value
            }
        }
    }

    /// Vapor's environment name: `ALTER_ENV`, else `production`.
    public static func environmentName(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["ALTER_ENV"] ?? "production"
    }

    public enum LogFormat: String, Sendable { case text, json }

    /// `LOG_FORMAT`: `text` (the default, Vapor's console lines) or `json` (one object a line).
    /// Read before the configuration, because logging is set up first.
    public static func logFormat(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> LogFormat {
        LogFormat(rawValue: environment["LOG_FORMAT"]?.lowercased() ?? "") ?? .text
    }

    /// True when the public URL is served over TLS (cookies are then marked `Secure`).
    var isHTTPS: Bool { publicURL.hasPrefix("https://") }

    /// True when the public URL's host is a loopback name or address (development).
    var isLoopback: Bool {
        guard let host = URL(string: publicURL)?.host else { return false }
        return AllowedOrigin.isLoopback(host.contains(":") ? "[\(host)]" : host)
    }
}

/// A configuration value that cannot be used; the server refuses to start.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
