/// The sandbox's entries in the provider catalog. They point at this server's own
/// `/sandbox/` OAuth server, so the OAuth client talks to it over HTTP exactly as it talks
/// to Google; two ids exist so multi-provider sessions can be tried locally.
enum SandboxProviders {
    static let ids = ["sandbox", "sandbox-mail"]

    /// RFC 9207 issuer identifier of the sandbox authorization server.
    static func issuer(publicURL: String) -> String { publicURL + "/sandbox" }

    static func catalogEntries(publicURL: String, extraAPIHosts: [String] = []) -> [CatalogProvider] {
        [
            entry(id: "sandbox", name: "Sandbox", description: "A built-in test provider: calendar and profile API", publicURL: publicURL),
            entry(id: "sandbox-mail", name: "Sandbox Mail", description: "A second built-in test provider: mailbox API", publicURL: publicURL),
        ].map { entry in
            var entry = entry
            entry.apiHosts += extraAPIHosts
            return entry
        }
    }

    private static func entry(id: String, name: String, description: String, publicURL: String) -> CatalogProvider {
        CatalogProvider(
            id: id, name: name, category: "developer", description: description, logoSVG: nil,
            authorizationURL: publicURL + "/sandbox/oauth/authorize",
            tokenURL: publicURL + "/sandbox/oauth/token",
            revocationURL: publicURL + "/sandbox/oauth/revoke",
            userinfo: .init(url: publicURL + "/sandbox/api/me", method: "GET", accountIdentifier: "email", email: "email", displayName: "name"),
            scopeSeparator: " ", defaultScopes: ["profile", "email"], authorizationParams: [:],
            clientAuth: .basic, tokenRequestFormat: .form, pkce: true, refresh: true,
            apiHosts: [publicURL], variables: [:], quirks: [ProviderQuirk.refreshTokenRotates.rawValue],
            docsURL: nil, issuer: issuer(publicURL: publicURL), sendsIssuerParameter: true, allowsPrivateNetwork: true)
    }
}
