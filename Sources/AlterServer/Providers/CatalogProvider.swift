import Foundation

/// One OAuth 2.0 provider as the catalog (`Resources/providers.json`) describes it.
/// Field names are the file's snake_case keys; docs/providers.md explains each quirk.
/// `CatalogRules` checks every entry before the server uses it.
struct CatalogProvider: Codable, Sendable, Equatable {
    struct UserInfo: Codable, Sendable, Equatable {
        var url: String
        var method: String
        /// Dot paths into the userinfo JSON (`data.id`, `users.0.email`, `accounts.is_default=true.id`).
        var accountIdentifier: String
        var email: String?
        var displayName: String?
        /// The request body for providers whose identity call is a POST (GraphQL).
        var body: String?
        /// Extra request headers the identity call needs (Notion's `Notion-Version`).
        var headers: [String: String]?
        /// Where the access token goes: `Authorization` unless the provider wants another
        /// header (Shopify's `X-Shopify-Access-Token`).
        var tokenHeader: String?
        /// What precedes the token in that header: `Bearer ` unless set (Mailchimp: `OAuth `,
        /// Shopify: empty).
        var tokenPrefix: String?

        enum CodingKeys: String, CodingKey {
            case url, method, email, body, headers
            case accountIdentifier = "account_identifier"
            case displayName = "display_name"
            case tokenHeader = "token_header"
            case tokenPrefix = "token_prefix"
        }
    }

    struct Variable: Codable, Sendable, Equatable {
        var pattern: String?
        var description: String?
        /// Where the value comes from: nil for the app's provider config (an admin sets it),
        /// `token_response` or `userinfo` for values read per grant (`VariableSource`).
        var source: String?
        /// The token-response key or userinfo dot path; defaults to the variable's name.
        var field: String?
    }

    /// Where a variable's value comes from (docs/providers.md, "Variables").
    enum VariableSource: String, CaseIterable, Sendable {
        case tokenResponse = "token_response"
        case userinfo
    }

    struct APIAuth: Codable, Sendable, Equatable {
        var header: String
        var prefix: String
    }

    /// The header name and value an API call carries the access token in.
    func apiAuthorization(_ accessToken: String) -> (name: String, value: String) {
        guard let apiAuth else { return ("Authorization", "Bearer " + accessToken) }
        return (apiAuth.header, apiAuth.prefix + accessToken)
    }

    enum ClientAuth: String, Codable, Sendable, CaseIterable {
        case basic = "client_secret_basic"
        case post = "client_secret_post"

        init(from decoder: any Decoder) throws {
            self = try catalogEnum(decoder, key: "client_auth")
        }
    }

    enum TokenRequestFormat: String, Codable, Sendable, CaseIterable {
        case form
        case json

        init(from decoder: any Decoder) throws {
            self = try catalogEnum(decoder, key: "token_request_format")
        }
    }

    var id: String
    var name: String
    var category: String
    var description: String
    var logoSVG: String?
    var authorizationURL: String
    var tokenURL: String
    var revocationURL: String?
    var userinfo: UserInfo?
    var scopeSeparator: String
    var defaultScopes: [String]
    var authorizationParams: [String: String]
    var clientAuth: ClientAuth
    var tokenRequestFormat: TokenRequestFormat
    var pkce: Bool
    var refresh: Bool
    var apiHosts: [String]
    var variables: [String: Variable]
    var quirks: [String]
    var docsURL: String?
    /// RFC 9207: the `iss` value the provider sends on its authorization response, when known.
    var issuer: String?
    /// RFC 9207 §3: the provider always sends `iss` (its metadata says
    /// `authorization_response_iss_parameter_supported: true`), so a response without one
    /// is refused. Needs `issuer`.
    var sendsIssuerParameter: Bool?
    /// How API calls carry the token, when not `Authorization: Bearer <token>` (Shopify:
    /// `X-Shopify-Access-Token: <token>`). Used by the proxy.
    var apiAuth: APIAuth?
    /// Only built-in test providers (the sandbox) and custom providers an admin explicitly
    /// marked for loopback testing may use http and live on loopback or private addresses.
    /// Never read from the catalog file.
    var allowsPrivateNetwork: Bool = false
    /// True for an app's own provider (`alter providers add-custom`), false for the shipped ones.
    var isCustom: Bool = false

    enum CodingKeys: String, CodingKey {
        case id, name, category, description, userinfo, pkce, refresh, variables, quirks
        case logoSVG = "logo_svg"
        case authorizationURL = "authorization_url"
        case tokenURL = "token_url"
        case revocationURL = "revocation_url"
        case scopeSeparator = "scope_separator"
        case defaultScopes = "default_scopes"
        case authorizationParams = "authorization_params"
        case clientAuth = "client_auth"
        case tokenRequestFormat = "token_request_format"
        case apiHosts = "api_hosts"
        case docsURL = "docs_url"
        case issuer
        case sendsIssuerParameter = "authorization_response_iss_parameter_supported"
        case apiAuth = "api_auth"
    }

    func has(_ quirk: ProviderQuirk) -> Bool { quirks.contains(quirk.rawValue) }

    /// True when an authorization response without `iss` must be refused (RFC 9207 §2.4).
    var requiresIssuerParameter: Bool { sendsIssuerParameter == true && issuer != nil }

    /// Variables an admin sets on the app's provider config (`tenant`, `shop`, `subdomain`).
    var configVariables: [String: Variable] { variables.filter { $0.value.source == nil } }

    /// Variables read per grant, from the token response or the userinfo response.
    func variables(from source: VariableSource) -> [String: Variable] {
        variables.filter { $0.value.source == source.rawValue }
    }

    /// Every URL template of the entry, API hosts included.
    var urlTemplates: [String] {
        [authorizationURL, tokenURL] + [revocationURL, userinfo?.url].compactMap { $0 } + apiHosts
    }

    /// Initials for the picker when there is no logo ("GitHub" → "GH", "Google" → "G").
    var initials: String {
        let capitals = name.filter { $0.isUppercase }
        return String((capitals.isEmpty ? String(name.prefix(1)) : String(capitals)).prefix(2)).uppercased()
    }

    /// The logo as a `data:` URL for API clients (`GET /v1/providers`), or nil.
    var logoDataURL: String? {
        logoSVG.map { "data:image/svg+xml;base64," + Data($0.utf8).base64EncodedString() }
    }
}

/// Decodes a catalog enum with a message that names the key and the allowed values.
private func catalogEnum<Value: RawRepresentable & CaseIterable>(_ decoder: any Decoder, key: String) throws -> Value
where Value.RawValue == String {
    let raw = try decoder.singleValueContainer().decode(String.self)
    guard let value = Value(rawValue: raw) else {
        let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(key) must be one of \(allowed) (got '\(raw)')"))
    }
    return value
}

/// Every quirk name the code knows how to handle. The catalog is refused on any other name.
enum ProviderQuirk: String, CaseIterable, Sendable {
    case tokenResponseAuthedUser = "token_response_authed_user"
    case userScopeParam = "user_scope_param"
    case acceptJSONHeader = "accept_json_header"
    case nonExpiringTokens = "non_expiring_tokens"
    case tenantInURL = "tenant_in_url"
    case instanceURLFromToken = "instance_url_from_token"
    case basicAuthJSONBody = "basic_auth_json_body"
    case scopesInTokenResponseComma = "scopes_in_token_response_comma"
    case noScopeParam = "no_scope_param"
    case workspaceToken = "workspace_token"
    case refreshTokenRotates = "refresh_token_rotates"
    case userinfoPost = "userinfo_post"
    case userinfoGraphQL = "userinfo_graphql"
    case audienceParam = "audience_param"
    case shopInURL = "shop_in_url"
    /// The token response has no `token_type` (RFC 6749 §5.1 requires one).
    case tokenTypeOmitted = "token_type_omitted"
    /// `token_type` is `bot` or `user` (Slack), both used as Bearer tokens.
    case tokenTypeBotUser = "token_type_bot_user"
}
