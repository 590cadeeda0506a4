import Foundation

/// What `alter providers add-custom` was told about an app's own OAuth 2.0 server, turned
/// into a catalog entry that follows the same `CatalogRules` as the shipped ones.
/// Explicit URLs win over discovered ones.
struct CustomProviderInput: Sendable, Equatable {
    var id: String
    var name: String
    var description: String?
    var authorizationURL: String?
    var tokenURL: String?
    var revocationURL: String?
    var userinfoURL: String?
    var accountField: String?
    var emailField: String?
    var nameField: String?
    var apiHosts: [String] = []
    var scopes: [String] = []
    /// nil: on, unless the server's metadata says it has no S256.
    var pkce: Bool?
    var clientAuth: CatalogProvider.ClientAuth?
    /// Loopback and private addresses (and http) only when set: for tests, never production.
    var allowsPrivateNetwork = false

    func entry(discovered: ProviderDiscovery.Metadata?) throws(CatalogViolation) -> CatalogProvider {
        func fail(_ rule: String) -> CatalogViolation { CatalogViolation(provider: id, rule: rule) }
        guard let authorizationURL = authorizationURL ?? discovered?.authorizationEndpoint else {
            throw fail("needs --authorization-url (or --discovery-url)")
        }
        guard let tokenURL = tokenURL ?? discovered?.tokenEndpoint else { throw fail("needs --token-url (or --discovery-url)") }
        guard let userinfoURL = userinfoURL ?? discovered?.userinfoEndpoint else {
            throw fail("needs --userinfo-url and --account-field: the vault identifies the connected account with them")
        }
        let challengeMethods = discovered?.codeChallengeMethodsSupported
        let pkce = pkce ?? true
        if pkce, let challengeMethods, !challengeMethods.contains("S256") {
            throw fail("the server does not list S256 in code_challenge_methods_supported; pass --no-pkce to connect without PKCE")
        }
        var clientAuth = self.clientAuth
        if clientAuth == nil { clientAuth = try Self.clientAuth(supported: discovered?.tokenEndpointAuthMethodsSupported, fail: fail) }
        let entry = CatalogProvider(
            id: id, name: name, category: "custom", description: description ?? "Custom OAuth 2.0 provider", logoSVG: nil,
            authorizationURL: authorizationURL, tokenURL: tokenURL, revocationURL: revocationURL ?? discovered?.revocationEndpoint,
            userinfo: .init(url: userinfoURL, method: "GET", accountIdentifier: accountField ?? "sub", email: emailField, displayName: nameField),
            scopeSeparator: " ", defaultScopes: scopes, authorizationParams: [:], clientAuth: clientAuth ?? .basic, tokenRequestFormat: .form,
            pkce: pkce, refresh: true, apiHosts: apiHosts, variables: [:], quirks: [], docsURL: nil, issuer: discovered?.issuer,
            sendsIssuerParameter: discovered?.authorizationResponseIssParameterSupported == true ? true : nil, allowsPrivateNetwork: allowsPrivateNetwork, isCustom: true)
        if !allowsPrivateNetwork, let url = entry.urlTemplates.first(where: { Self.isPrivate(url: $0) }) {
            throw fail("\(url) is a loopback or private address: pass --allow-private-network (for tests only)")
        }
        try CatalogRules.check(entry)
        return entry
    }

    /// RFC 6749 §2.3.1 makes Basic the method every server supports; RFC 8414 lists others.
    static func clientAuth(supported: [String]?, fail: (String) -> CatalogViolation) throws(CatalogViolation) -> CatalogProvider.ClientAuth {
        guard let supported else { return .basic }
        if supported.contains(CatalogProvider.ClientAuth.basic.rawValue) { return .basic }
        if supported.contains(CatalogProvider.ClientAuth.post.rawValue) { return .post }
        throw fail("the server supports neither client_secret_basic nor client_secret_post at its token endpoint")
    }

    /// Loopback and private hosts by name or literal, in every spelling a URL or
    /// `getaddrinfo` accepts (`https://2130706433`, `[::ffff:7f00:1]`). Names that resolve to
    /// such addresses are the proxy's to refuse, at connection time.
    static func isPrivate(url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        return NetworkAddress(urlHost: host)?.isPrivateOrReserved ?? false
    }
}
