import NIOCore
import Vapor

extension Application {
    var oauthClient: OAuthClient {
        OAuthClient(http: providerHTTP, now: clock.now, timeout: .milliseconds(Int64(alterConfiguration.providerCallTimeout * 1000)))
    }
}
