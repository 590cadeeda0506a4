import Fluent
import FluentKit
import Foundation
import Vapor

/// `POST /v1/grants/{id}/token`: hands out a fresh access token for headless use. It sits
/// beside the proxy because both hand out vault access through `RefreshCoordinator`.
struct GrantTokenController: RouteCollection {
    struct AccessToken: Content {
        var accessToken: String
        var tokenType = "Bearer"
        var expiresAt: Date?
        var scopes: [String]

        enum CodingKeys: String, CodingKey {
            case scopes
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresAt = "expires_at"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(AppKeyAuthenticator()).post("v1", "grants", ":grant", "token", use: token)
    }

    func token(request: Request) async throws -> AccessToken {
        let grant = try await GrantResolver(request: request, caller: request.caller).resolve(.init(grantID: request.parameters.get("grant")))
        let issued = try await GrantTokens.issue(grant, request: request)
        return AccessToken(accessToken: issued.accessToken, expiresAt: issued.grant.expiresAt, scopes: issued.grant.scopes)
    }
}
