import Vapor

/// `POST /v1/request` body (docs/api.md).
struct ProxyRequest: Content {
    var method: String
    var url: String
    var grantID: String?
    var userToken: String?
    var provider: String?
    var accountIdentifier: String?
    var headers: [String: String]?
    var body: String?
    var bodyBase64: String?
    var agent: String?

    enum CodingKeys: String, CodingKey {
        case method, url, headers, body, agent, provider
        case grantID = "grant_id"
        case userToken = "user_token"
        case accountIdentifier = "account_identifier"
        case bodyBase64 = "body_base64"
    }

    static let methods: Set<String> = ProxyMethods.all

    var reference: GrantResolver.Reference {
        .init(grantID: grantID, userToken: userToken, provider: provider, accountIdentifier: accountIdentifier)
    }
}
