import AsyncHTTPClient
import Vapor

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
        configuration.decompression = .enabled(limit: .size(OAuthClient.maxResponseBytes * 4))
        let client = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
        providerHTTP = client
        lifecycle.use(ProviderHTTPShutdown(client: client))
    }

    var oauthClient: OAuthClient {
        OAuthClient(http: providerHTTP, now: clock.now)
    }
}

private struct ProviderHTTPShutdown: LifecycleHandler {
    let client: HTTPClient
    func shutdownAsync(_ application: Application) async {
        try? await client.shutdown()
    }
}
