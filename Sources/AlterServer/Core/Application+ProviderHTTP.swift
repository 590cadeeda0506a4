import AsyncHTTPClient
import Vapor

/// The one outbound HTTP client (providers, proxy upstreams, webhooks, discovery, JWKS).
/// It sits at the bottom so that every room calling out shares its limits.
enum ProviderHTTP {
    /// GitHub refuses API calls without a User-Agent; Reddit wants a descriptive one.
    static let userAgent = "AlterVault/1.0"
    /// Compressed answers expand up to this many bytes before a reader's own cap applies.
    static let decompressionLimit = 1024 * 1024
}

extension Application {
    private enum ProviderHTTPKey: StorageKey { typealias Value = HTTPClient }

    /// The HTTP client for talking to providers. Unlike Vapor's shared client it never
    /// follows redirects: a redirect would carry a token or a client secret elsewhere.
    var providerHTTP: HTTPClient {
        get { requiredService(ProviderHTTPKey.self) }
        set { storage[ProviderHTTPKey.self] = newValue }
    }

    /// Creates the provider client and shuts it down with the application.
    func useProviderHTTPClient() {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        configuration.decompression = .enabled(limit: .size(ProviderHTTP.decompressionLimit))
        let client = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
        providerHTTP = client
        lifecycle.use(ProviderHTTPShutdown(client: client))
    }
}

private struct ProviderHTTPShutdown: LifecycleHandler {
    let client: HTTPClient
    func shutdownAsync(_ application: Application) async {
        try? await client.shutdown()
    }
}
