import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTPCompression

/// A client for an Alter Vault server, used by your backend with its app key.
///
/// Your backend mints Connect sessions for the browser widget, then calls provider APIs
/// through the vault with the grant ids the widget delivered. The vault holds and refreshes
/// the provider tokens; your backend never sees them unless it asks for one.
///
/// ```swift
/// let vault = AlterVault(
///     apiKey: settings.alterAPIKey,  // from your configuration, never from the browser
///     caller: "calendar-sync",
///     baseURL: "https://vault.example.com")
/// let session = try await vault.createConnectSession(allowedProviders: ["google"])
/// // … the widget connects an account and your page sends you its grant_id …
/// let events = try await vault.request(.GET, "https://www.googleapis.com/calendar/v3/users/me/calendarList", grantID: grantID)
/// ```
///
/// The value is cheap to copy and safe to share between tasks. Its `description` never
/// contains the key.
public struct AlterVault: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The version this SDK reports in its `User-Agent` header.
    public static let version = "0.1.0"

    /// The vault's base URL, without a trailing slash, e.g. `https://vault.example.com`.
    public let baseURL: String
    /// The name sent as `Alter-Caller`, so the audit log says which part of your app called.
    public let caller: String?
    /// How long one call may take, from sending the request to the last byte of the answer.
    public let timeout: Duration

    let apiKey: String
    let httpClient: HTTPClient
    /// True when `httpClient` is the SDK's own, which inflates gzip and deflate bodies.
    let decodesBodies: Bool
    let logger: Logger

    /// The SDK's own client. It follows no redirects: a provider's 3xx, relayed by the vault,
    /// must reach your code as it is, never be replayed to a vault path with the app key or
    /// re-POST a request body elsewhere. It inflates `gzip` and `deflate` bodies (the vault
    /// relays providers' bytes untouched), up to ``maxDecodedBodyBytes``.
    static let ownHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.decompression = .enabled(limit: .size(maxDecodedBodyBytes))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The largest body the SDK's own client inflates a compressed answer to.
    public static let maxDecodedBodyBytes = 64 * 1024 * 1024

    /// Creates a client for the vault at `baseURL`.
    ///
    /// Create one per process and share it: it holds no connections of its own and uses
    /// `httpClient` (by default the SDK's own shared client) for every call.
    ///
    /// A client you pass must not follow redirects (`redirectConfiguration: .disallow`):
    /// otherwise a provider's `3xx` would be followed with your app key attached. With your
    /// own client, bodies arrive as the provider encoded them (see `Content-Encoding`).
    ///
    /// ```swift
    /// let vault = AlterVault(apiKey: key, caller: "billing-worker", baseURL: "http://localhost:4000")
    /// ```
    ///
    /// - Parameters:
    ///   - apiKey: The app key (`alter_rk_…`, or `ak_…` from before that format). It is sent only in the `Authorization` header and is
    ///     never logged or printed.
    ///   - caller: A free-text name for this part of your app (at most 100 characters; control
    ///     characters are removed), recorded in the vault's audit log.
    ///   - baseURL: The vault's external URL, e.g. `https://vault.example.com`.
    ///   - httpClient: The client that sends the requests; nil for the SDK's own (no redirects,
    ///     compressed bodies inflated and their `Content-Encoding` removed).
    ///   - timeout: The limit for each call. The default is 30 seconds.
    ///   - logger: Where the SDK logs one debug line per call (method, path, status; never a
    ///     key, token, URL query or body).
    public init(
        apiKey: String,
        caller: String? = nil,
        baseURL: String,
        httpClient: HTTPClient? = nil,
        timeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "alter-vault")
    ) {
        self.apiKey = apiKey
        self.caller = caller.map(Self.headerSafe)
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.httpClient = httpClient ?? Self.ownHTTPClient
        self.decodesBodies = httpClient == nil
        self.timeout = timeout
        self.logger = logger
    }

    /// A summary for logs, with the key redacted to its prefix (`alter_rk_` or `ak_`).
    public var description: String {
        "AlterVault(baseURL: \(baseURL), caller: \(caller ?? "nil"), apiKey: \(Self.redacted(apiKey)))"
    }

    /// The same as ``description``: the key is redacted in debug output too.
    public var debugDescription: String { description }

    /// What `dump(_:)` and debuggers show: everything but the key.
    public var customMirror: Mirror {
        Mirror(self, children: ["baseURL": baseURL, "caller": caller as Any, "timeout": timeout], displayStyle: .struct)
    }

    /// `alter_rk_…` or `ak_…` for a key of either format, `…` otherwise: enough to tell which
    /// kind of secret it is.
    static func redacted(_ key: String) -> String {
        key.hasPrefix("alter_rk_") ? "alter_rk_…" : key.hasPrefix("ak_") ? "ak_…" : "…"
    }

    /// `Alter-Caller` is free text of at most 100 characters (docs/api.md); a CR or LF would
    /// end the header, so control characters are dropped rather than sent.
    private static func headerSafe(_ value: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: value.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) })
        return String(String(scalars).prefix(100))
    }
}
