import Crypto
import Fluent
import FluentKit
import Foundation
import Vapor

/// A client registered at the sandbox: any app's `ProviderConfig` for a sandbox provider.
/// The vault's provider setup *is* the registration, as if the operator had created the
/// client in Google's console and pasted its id and secret.
struct SandboxClient: Sendable, Equatable {
    let clientID: String
    let provider: String
    let appName: String
    /// The app's Connect branding, shown on the consent page as on the Connect pages.
    var branding: AppBranding? = nil
    /// RFC 6749 §3.1.2.2: the registered redirect URIs, compared as exact strings: each
    /// registration's own (`ProviderConfig.redirectURI(publicURL:)`), as the operator would
    /// have entered it in the provider's console.
    var redirectURIs: [String] = []

    /// The client with this id, or nil. Several apps may share one id (test fixtures do);
    /// the oldest registration names the client on the consent page, and every
    /// registration's redirect URI is registered.
    static func find(clientID: String?, publicURL: String, on database: any Database) async throws -> SandboxClient? {
        guard let clientID else { return nil }
        let configs = try await registrations(clientID: clientID, on: database)
        guard var client = configs.first.map(SandboxClient.init(config:)) else { return nil }
        client.redirectURIs = configs.map { $0.redirectURI(publicURL: publicURL) }
        return client
    }

    /// The client whose id and secret both match a registration, or nil.
    static func authenticate(clientID: String, secret: String, sealer: Sealer, on database: any Database) async throws -> SandboxClient? {
        for config in try await registrations(clientID: clientID, on: database) {
            guard let registered = try? config.clientSecret(using: sealer) else { continue }
            // Compare digests: swift-crypto's digest equality is constant-time and hides length.
            if SHA256.hash(data: Data(registered.utf8)) == SHA256.hash(data: Data(secret.utf8)) {
                return SandboxClient(config: config)
            }
        }
        return nil
    }

    private static func registrations(clientID: String, on database: any Database) async throws -> [ProviderConfig] {
        try await ProviderConfig.query(on: database)
            .filter(\.$clientID == clientID)
            .filter(\.$provider ~~ SandboxProviders.ids)
            .with(\.$app)
            .sort(\.$createdAt)
            .all()
    }
}

extension SandboxClient {
    fileprivate init(config: ProviderConfig) {
        let branding = config.app.connectBranding
        self.init(clientID: config.clientID, provider: config.provider, appName: branding.name, branding: branding)
    }
}

/// Client authentication at the token and revocation endpoints (RFC 6749 §2.3.1):
/// `client_secret_basic`, or `client_secret_post`, never both.
enum SandboxClientAuthentication {
    static func authenticate(_ request: Request, form: SandboxForm) async throws -> SandboxClient {
        let (clientID, secret) = try credentials(authorization: request.headers.first(name: .authorization), form: form)
        guard let client = try await SandboxClient.authenticate(
            clientID: clientID, secret: secret, sealer: request.application.sealer, on: request.db)
        else {
            throw SandboxOAuthError.invalidClient("Unknown client or wrong client secret.")
        }
        return client
    }

    /// The presented client id and secret. Pure, so the header rules have table tests.
    static func credentials(authorization: String?, form: SandboxForm) throws(SandboxOAuthError) -> (id: String, secret: String) {
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "basic",
                let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
                let text = String(data: decoded, encoding: .utf8)
            else {
                throw .invalidClient("The Authorization header is not HTTP Basic client authentication.")
            }
            let pair = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { throw .invalidClient("The Basic credentials have no ':'.") }
            // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined.
            let id = SandboxForm.decode(pair[0])
            let secret = SandboxForm.decode(pair[1])
            guard form["client_secret"] == nil else {
                throw .invalidRequest("Use one client authentication method, not Basic and client_secret together (RFC 6749 §2.3).")
            }
            if let bodyID = form["client_id"], bodyID != id {
                throw .invalidRequest("client_id in the body differs from the Basic credentials.")
            }
            return (id, secret)
        }
        guard let id = form["client_id"], let secret = form["client_secret"] else {
            throw .invalidClient("Client authentication is required: HTTP Basic (client_secret_basic) or client_id and client_secret in the body.")
        }
        return (id, secret)
    }
}
