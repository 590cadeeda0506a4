import Fluent
import FluentKit
import Foundation
import Vapor

/// `POST /sdk/token`: the access token for the SDK's own provider call (`app.request(...)`),
/// by `GrantTokens` (refreshed first when near expiry), with the header the provider wants
/// it in (`injection_header` / `injection_format`, from the catalog).
struct SDKTokenController: RouteCollection {
    struct TokenRequest: Decodable {
        struct Intent: Decodable {
            var method: String?
            var url: String?
        }
        var reason: String?
        var request: Intent?
    }

    struct TokenResponse: Encodable {
        var accessToken: String
        var tokenType = "Bearer"
        var grantID: String
        var providerID: String
        var expiresIn: Int?
        var expiresAt: Date?
        var scopes: [String]
        var injectionHeader: String
        var injectionFormat: String

        enum CodingKeys: String, CodingKey {
            case scopes
            case accessToken = "access_token"
            case tokenType = "token_type"
            case grantID = "grant_id"
            case providerID = "provider_id"
            case expiresIn = "expires_in"
            case expiresAt = "expires_at"
            case injectionHeader = "injection_header"
            case injectionFormat = "injection_format"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.sdkPost("token", use: token)
    }

    func token(request: Request) async throws -> Response {
        let reference = try request.content.decode(SDKGrantReference.self)
        let body = try request.content.decode(TokenRequest.self)
        let grant = try await reference.resolve(request)
        let issued = try await GrantTokens.issue(grant, method: body.request?.method, url: body.request?.url, reason: body.reason, request: request)
        let provider = try await request.application.providerCatalog.provider(grant.provider, forApp: grant.$app.id, on: request.db)
        let injection = provider?.apiAuthorization("{token}") ?? (name: "Authorization", value: "Bearer {token}")
        let now = request.application.clock.now()
        return try .sdkJSON(TokenResponse(
            accessToken: issued.accessToken, grantID: try grant.publicID(), providerID: grant.provider,
            expiresIn: issued.grant.expiresAt.map { max(0, Int($0.timeIntervalSince(now))) }, expiresAt: issued.grant.expiresAt,
            scopes: issued.grant.scopes.filter { !$0.isEmpty }, injectionHeader: injection.name, injectionFormat: injection.value))
    }
}
