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
        var additionalInjections: [SecretInjection.ForSDK.Rule]? = nil
        var additionalCredentials: [String: String]? = nil

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
            case additionalInjections = "additional_injections"
            case additionalCredentials = "additional_credentials"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.sdkPost("token", use: token)
    }

    func token(request: Request) async throws -> Response {
        let reference = try request.content.decode(SDKGrantReference.self)
        let body = try request.content.decode(TokenRequest.self)
        let grant: GrantRecord
        switch try await reference.resolveCredential(request) {
        case .oauth(let oauth): grant = oauth
        case .secret(let secretGrant, let secret):
            return try await secretToken(secretGrant, secret: secret, body: body, request: request)
        }
        let issued = try await GrantTokens.issue(grant, method: body.request?.method, url: body.request?.url, reason: body.reason, request: request)
        let provider = try await request.application.providerCatalog.provider(of: grant, on: request.db)
        let injection = provider?.apiAuthorization("{token}") ?? (name: "Authorization", value: "Bearer {token}")
        let now = request.application.clock.now()
        return try .sdkJSON(TokenResponse(
            accessToken: issued.accessToken, grantID: grant.id.lowercasedString, providerID: grant.provider,
            expiresIn: issued.grant.expiresAt.map { max(0, Int($0.timeIntervalSince(now))) }, expiresAt: issued.grant.expiresAt,
            scopes: issued.grant.scopes.filter { !$0.isEmpty }, injectionHeader: injection.name, injectionFormat: injection.value))
    }

    /// A managed secret for the SDK's own call: its template's header and format, plus the
    /// query parameter and extra headers as `additional_injections` (`SecretTokens`).
    private func secretToken(_ grant: SecretGrant, secret: ManagedSecret, body: TokenRequest, request: Request) async throws -> Response {
        let issued = try await SecretTokens.issue(grant, secret: secret, method: body.request?.method, url: body.request?.url, reason: body.reason, request: request)
        let now = request.application.clock.now()
        return try .sdkJSON(TokenResponse(
            accessToken: issued.accessToken, grantID: try grant.requireID().lowercasedString, providerID: secret.slug,
            expiresIn: grant.expiresAt.map { max(0, Int($0.timeIntervalSince(now))) }, expiresAt: grant.expiresAt, scopes: [],
            injectionHeader: issued.injectionHeader, injectionFormat: issued.injectionFormat,
            additionalInjections: issued.additionalInjections.isEmpty ? nil : issued.additionalInjections,
            additionalCredentials: issued.additionalCredentials.isEmpty ? nil : issued.additionalCredentials))
    }
}
