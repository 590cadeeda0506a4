import Foundation

/// One OAuth 2.0 provider as the catalog (`Resources/providers.json`) describes it.
/// Field names are the file's snake_case keys; docs/providers.md explains each quirk.
struct CatalogProvider: Codable, Sendable, Equatable {
    struct UserInfo: Codable, Sendable, Equatable {
        var url: String
        var method: String
        /// Dot paths into the userinfo JSON (`data.id`, `users.0.email`).
        var accountIdentifier: String
        var email: String?
        var displayName: String?
        /// The request body for providers whose identity call is a POST (GraphQL).
        var body: String?

        enum CodingKeys: String, CodingKey {
            case url, method, email, body
            case accountIdentifier = "account_identifier"
            case displayName = "display_name"
        }
    }

    struct Variable: Codable, Sendable, Equatable {
        var pattern: String?
        var description: String?
        /// `token_response` when the value comes from the token response (Salesforce `instance_url`).
        var source: String?
        var field: String?
    }

    enum ClientAuth: String, Codable, Sendable {
        case basic = "client_secret_basic"
        case post = "client_secret_post"
    }

    enum TokenRequestFormat: String, Codable, Sendable {
        case form
        case json
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
    /// Only built-in test providers (the sandbox) may live on loopback or private addresses.
    var allowsPrivateNetwork: Bool = false

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
    }

    func has(_ quirk: ProviderQuirk) -> Bool { quirks.contains(quirk.rawValue) }

    /// Initials for the picker when there is no logo ("GitHub" → "GH", "Google" → "G").
    var initials: String {
        let capitals = name.filter { $0.isUppercase }
        return String((capitals.isEmpty ? String(name.prefix(1)) : String(capitals)).prefix(2)).uppercased()
    }
}

/// Every quirk name the code knows how to handle. The catalog test fails on any other name.
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
}
