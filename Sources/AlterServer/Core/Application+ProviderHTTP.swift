import AsyncHTTPClient
import Vapor

/// The outbound HTTP clients (providers, proxy upstreams, webhooks, discovery, JWKS).
/// They sit at the bottom so that every room calling out shares their limits and the
/// address check (`OutboundHTTP`, `AddressRule`).
enum ProviderHTTP {
    /// GitHub refuses API calls without a User-Agent; Reddit wants a descriptive one.
    static let userAgent = "AlterVault/1.0"
    /// Compressed answers expand up to this many bytes before a reader's own cap applies.
    static let decompressionLimit = 1024 * 1024
    /// Connections the proxy keeps open to one upstream host at most.
    static let proxyConnectionsPerHost = 128

    /// The vault's own calls (`Application.providerHTTP`). A failed connection fails the call
    /// at once instead of being retried until its deadline: AsyncHTTPClient's retries would turn
    /// a certificate that names another host, or a refused port, into the whole 10 s of a
    /// token call, with the grant's refresh lock held all along. The caller's own rules decide
    /// what happens next (a refresh answers the retryable `refresh_failed`; webhooks retry).
    static func ownCallsConfiguration(tls: TLSConfiguration? = nil) -> HTTPClient.Configuration {
        var configuration = base(tls: tls)
        configuration.decompression = .enabled(limit: .size(decompressionLimit))
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// Proxied calls (`Application.proxyHTTP`): never decompressed, many at once per host.
    /// Connections are retried within the call's deadline: under a burst of callers a single
    /// failed connect must not fail every request waiting for a connection.
    static func proxyConfiguration(tls: TLSConfiguration? = nil) -> HTTPClient.Configuration {
        var configuration = base(tls: tls)
        configuration.decompression = .disabled
        // AsyncHTTPClient's default of 8 connections per host would queue the rest and fail them
        // after the 5 s connect timeout under a burst.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: proxyConnectionsPerHost)
        return configuration
    }

    /// What every outbound client shares: no redirects followed (one would carry a token or a
    /// client secret elsewhere), and the connect and read timeouts under each call's own deadline.
    private static func base(tls: TLSConfiguration?) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        return configuration
    }
}

extension Application {
    private enum ProviderHTTPKey: StorageKey { typealias Value = OutboundHTTP }
    private enum ProxyHTTPKey: StorageKey { typealias Value = OutboundHTTP }

    /// The HTTP client for the vault's own calls to providers (token, userinfo, revocation,
    /// discovery, JWKS, webhooks), whose bodies the vault reads itself. Unlike Vapor's shared
    /// client it never follows redirects: a redirect would carry a token or a client secret elsewhere.
    var providerHTTP: OutboundHTTP {
        get { requiredService(ProviderHTTPKey.self) }
        set { storage[ProviderHTTPKey.self] = newValue }
    }

    /// The HTTP client for proxied calls, whose answers are relayed byte for byte: it never
    /// decompresses (a relayed `Content-Encoding: gzip` must describe the bytes that follow,
    /// security review F2), so it adds no `Accept-Encoding` of its own either; the caller's
    /// passes through. It follows no redirects (a 3xx is the caller's to see).
    var proxyHTTP: OutboundHTTP {
        get { requiredService(ProxyHTTPKey.self) }
        set { storage[ProxyHTTPKey.self] = newValue }
    }

    /// Creates both clients and shuts them down with the application.
    func useProviderHTTPClient() {
        let resolver = alterConfiguration.hostResolver
        let client = OutboundHTTP(eventLoopGroup: eventLoopGroup, configuration: ProviderHTTP.ownCallsConfiguration(), resolver: resolver)
        providerHTTP = client
        let proxy = OutboundHTTP(eventLoopGroup: eventLoopGroup, configuration: ProviderHTTP.proxyConfiguration(), resolver: resolver)
        proxyHTTP = proxy
        lifecycle.use(ProviderHTTPShutdown(clients: [client, proxy]))
    }
}

private struct ProviderHTTPShutdown: LifecycleHandler {
    let clients: [OutboundHTTP]
    func shutdownAsync(_ application: Application) async {
        for client in clients { await client.shutdown() }
    }
}
