import Vapor

extension Application {
    var oauthClient: OAuthClient {
        OAuthClient(http: providerHTTP, now: clock.now)
    }
}
