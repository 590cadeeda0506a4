import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The vault's OAuth 2.0 client: authorization URLs, code exchange, refresh and account
/// lookup, with every provider quirk taken from the catalog. Provider responses are
/// size-capped and time-limited (head and body together, see `HTTPClient.collect`).
struct OAuthClient: Sendable {
    static let maxResponseBytes = 256 * 1024

    let http: OutboundHTTP
    let now: @Sendable () -> Date
    var timeout: TimeAmount = .seconds(10)

    struct Account: Sendable, Equatable {
        var identifier: String
        var email: String?
        var displayName: String?
        /// Values the catalog declares with `"source": "userinfo"` (Mailchimp `dc`), checked.
        var variables: [String: String] = [:]
    }

    /// The scopes an authorization request asks for: the config's, else the catalog's.
    static func requestedScopes(provider: CatalogProvider, config: ProviderConfig) -> [String] {
        config.scopes.isEmpty ? provider.defaultScopes : config.scopes
    }

    /// A fresh OpenID Connect `nonce` when the request asks for an ID token (`openid`), else
    /// nil. OIDC Core §3.1.2.1 makes it optional in the code flow, but some servers
    /// (Glewlwyd) refuse `openid` without one, and it binds the ID token to this attempt.
    static func nonce(provider: CatalogProvider, config: ProviderConfig) -> String? {
        IDToken.isRequested(by: requestedScopes(provider: provider, config: config)) ? SecretToken.randomString(bytes: 32) : nil
    }

    /// The URL the browser is sent to (RFC 6749 §4.1.1 + RFC 7636 S256 + OIDC `nonce`).
    static func authorizationURL(
        provider: CatalogProvider, config: ProviderConfig, redirectURI: String, state: String, pkce: PKCE, nonce: String?
    ) throws -> String {
        let base = try ProviderURLTemplate.resolve(provider.authorizationURL, provider: provider, values: config.variables ?? [:])
        let scopes = requestedScopes(provider: provider, config: config).joined(separator: provider.scopeSeparator)
        var pairs: [(String, String)] = [
            ("response_type", "code"), ("client_id", config.clientID), ("redirect_uri", redirectURI), ("state", state),
        ]
        if !scopes.isEmpty && !provider.has(.noScopeParam) {
            pairs.append((provider.has(.userScopeParam) ? "user_scope" : "scope", scopes))
        }
        if provider.pkce {
            pairs += [("code_challenge", pkce.challenge), ("code_challenge_method", "S256")]
        }
        if let nonce { pairs.append(("nonce", nonce)) }
        pairs += provider.authorizationParams.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return base + (base.contains("?") ? "&" : "?") + FormEncoding.encode(pairs)
    }

    func exchangeCode(
        _ code: String, verifier: String, provider: CatalogProvider, config: ProviderConfig, clientSecret: String, redirectURI: String
    ) async throws(ProviderError) -> ProviderTokens {
        var parameters = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI)]
        if provider.pkce { parameters.append(("code_verifier", verifier)) }
        let tokens = try await tokenRequest(parameters, provider: provider, config: config, clientSecret: clientSecret)
        // The first response must carry what the API host needs (a refresh may omit it).
        if let missing = provider.variables(from: .tokenResponse).keys.sorted().first(where: { tokens.variables[$0] == nil }) {
            throw ProviderError(error: "invalid_token_response", errorDescription: "the token response has no \(missing)", isTransient: false)
        }
        return tokens
    }

    func refresh(
        _ refreshToken: String, provider: CatalogProvider, config: ProviderConfig, clientSecret: String
    ) async throws(ProviderError) -> ProviderTokens {
        try await tokenRequest([("grant_type", "refresh_token"), ("refresh_token", refreshToken)], provider: provider, config: config, clientSecret: clientSecret)
    }

    private func tokenRequest(
        _ parameters: [(String, String)], provider: CatalogProvider, config: ProviderConfig, clientSecret: String
    ) async throws(ProviderError) -> ProviderTokens {
        let url: String
        do {
            url = try ProviderURLTemplate.resolve(provider.tokenURL, provider: provider, values: config.variables ?? [:])
        } catch {
            throw ProviderError(error: "provider_not_configured", errorDescription: error.description, isTransient: false)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Accept", value: "application/json")
        var parameters = parameters
        Self.authenticate(&request, &parameters, basic: provider.clientAuth == .basic || provider.has(.basicAuthJSONBody), clientID: config.clientID, clientSecret: clientSecret)
        if provider.tokenRequestFormat == .json || provider.has(.basicAuthJSONBody) {
            let object = Dictionary(parameters, uniquingKeysWith: { _, last in last })
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: (try? JSONSerialization.data(withJSONObject: object)) ?? Data()))
        } else {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: FormEncoding.encode(parameters)))
        }
        let (status, contentType, body) = try await send(request, provider: provider)
        guard (200..<300).contains(status) else {
            let fields = try? TokenResponseParser.fields(body: body, contentType: contentType)
            throw ProviderError(
                error: (fields?["error"] as? String) ?? "http_\(status)",
                errorDescription: fields?["error_description"] as? String,
                isTransient: status >= 500 || status == 429)
        }
        return try TokenResponseParser.parse(body: body, contentType: contentType, provider: provider, now: now())
    }

    /// RFC 7009: asks the provider to revoke `token`. True when it said yes (2xx).
    func revoke(_ token: String, hint: String, url: String, provider: CatalogProvider, config: ProviderConfig, clientSecret: String) async -> Bool {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        var fields = [("token", token), ("token_type_hint", hint)]
        Self.authenticate(&request, &fields, basic: provider.clientAuth == .basic, clientID: config.clientID, clientSecret: clientSecret)
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        guard let (status, _, _) = try? await send(request, provider: provider) else { return false }
        return (200..<300).contains(status)
    }

    /// Client authentication (RFC 6749 §2.3.1): HTTP Basic with form-encoded id and secret,
    /// or both in the body.
    private static func authenticate(
        _ request: inout HTTPClientRequest, _ fields: inout [(String, String)], basic: Bool, clientID: String, clientSecret: String
    ) {
        if basic {
            let credentials = "\(FormEncoding.escape(clientID)):\(FormEncoding.escape(clientSecret))"
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        } else {
            fields += [("client_id", clientID), ("client_secret", clientSecret)]
        }
    }

    /// Reads the account behind a token from the provider's userinfo endpoint.
    func fetchAccount(provider: CatalogProvider, accessToken: String, variables: [String: String]) async throws(ProviderError) -> Account {
        guard let userinfo = provider.userinfo else {
            throw ProviderError(error: "no_userinfo", errorDescription: "this provider has no identity endpoint configured", isTransient: false)
        }
        let url: String
        do {
            url = try ProviderURLTemplate.resolve(userinfo.url, provider: provider, values: variables)
        } catch {
            throw ProviderError(error: "provider_not_configured", errorDescription: error.description, isTransient: false)
        }
        var request = HTTPClientRequest(url: url)
        request.method = userinfo.method.uppercased() == "POST" ? .POST : .GET
        request.headers.add(name: userinfo.tokenHeader ?? "Authorization", value: (userinfo.tokenPrefix ?? "Bearer ") + accessToken)
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in userinfo.headers ?? [:] { request.headers.replaceOrAdd(name: name, value: value) }
        if let body = userinfo.body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let (status, _, body) = try await send(request, provider: provider)
        guard (200..<300).contains(status), let object = try? JSONSerialization.jsonObject(with: body) else {
            throw ProviderError(error: "userinfo_failed", errorDescription: "the provider's userinfo answered \(status)", isTransient: status >= 500)
        }
        guard let identifier = JSONPath.string(at: userinfo.accountIdentifier, in: object), !identifier.isEmpty, identifier.count <= 320 else {
            throw ProviderError(error: "userinfo_failed", errorDescription: "the userinfo response has no account identifier", isTransient: false)
        }
        var account = Account(
            identifier: identifier,
            email: userinfo.email.flatMap { JSONPath.string(at: $0, in: object) },
            displayName: userinfo.displayName.flatMap { JSONPath.string(at: $0, in: object) })
        // The API origin may come from here (Mailchimp `dc`, DocuSign `base_uri`): required, and checked.
        for (name, variable) in provider.variables(from: .userinfo) {
            guard let value = JSONPath.string(at: variable.field ?? name, in: object), ProviderURLTemplate.accepts(value, for: name, of: provider) else {
                throw ProviderError(error: "userinfo_failed", errorDescription: "the userinfo response has no allowed \(name)", isTransient: false)
            }
            account.variables[name] = value
        }
        return account
    }

    /// Sends without following redirects (a redirect with a token attached would leak it),
    /// within the time and size limits, to an address the provider may reach (public unless
    /// it is configured for private networks).
    private func send(_ request: HTTPClientRequest, provider: CatalogProvider) async throws(ProviderError) -> (Int, String?, Data) {
        var request = request
        request.headers.replaceOrAdd(name: "User-Agent", value: ProviderHTTP.userAgent)
        do {
            let rule = AddressRule.privateNetwork(allowed: provider.allowsPrivateNetwork)
            let response = try await http.collect(request, rule: rule, timeout: timeout, upTo: Self.maxResponseBytes)
            return (Int(response.status.code), response.headers.first(name: "Content-Type"), Data(buffer: response.body))
        } catch let refusal as OutboundRefusal {
            throw ProviderError(error: refusal.reason == .unresolvable ? "unreachable" : "address_not_allowed", errorDescription: refusal.description, isTransient: refusal.reason == .unresolvable)
        } catch is NIOTooManyBytesError {
            throw ProviderError(error: "response_too_large", errorDescription: "the provider's response is larger than the vault accepts", isTransient: false)
        } catch let error as HTTPClientError where error.isTimeout {
            throw ProviderError(error: "timeout", errorDescription: "the provider did not answer in time", isTransient: true)
        } catch {
            throw ProviderError(error: "unreachable", errorDescription: "the provider could not be reached", isTransient: true)
        }
    }
}
