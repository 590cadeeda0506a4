import Fluent
import FluentKit
import Foundation
import Vapor

/// The SDK's Connect calls: `create_connect_session` (`SessionMinter`, the same rules as
/// `/v1/connect/sessions`; its `connect_url` opens our hosted UI, and its token works with
/// our widget) and `poll_connect_session` (`SessionResult`, what the widget reads too), so
/// the SDK's headless `connect()` works.
struct SDKConnectController: RouteCollection {
    struct SessionRequest: Decodable {
        struct Metadata: Decodable {
            var ipAddress: String?
            var userAgent: String?

            enum CodingKeys: String, CodingKey {
                case ipAddress = "ip_address"
                case userAgent = "user_agent"
            }
        }
        var allowedProviders: [String]?
        var returnURL: String?
        var allowedOrigin: String?
        var metadata: Metadata?
        var agent: String?
        var userToken: String?
        var grantPolicy: LooseJSON?
        var requestedGrant: LooseJSON?

        enum CodingKeys: String, CodingKey {
            case agent, metadata
            case grantPolicy = "grant_policy"
            case requestedGrant = "requested_grant"
            case allowedProviders = "allowed_providers"
            case returnURL = "return_url"
            case allowedOrigin = "allowed_origin"
            case userToken = "user_token"
        }

        var order: SessionMinter.Order {
            var context: [String: String] = [:]
            if let ip = metadata?.ipAddress { context["ip_address"] = String(ip.prefix(64)) }
            if let agent = metadata?.userAgent { context["user_agent"] = String(agent.prefix(512)) }
            return .init(
                allowedProviders: allowedProviders, allowedOrigin: allowedOrigin, returnURL: returnURL, userToken: userToken, agent: agent,
                metadata: context.isEmpty ? nil : context, grantPolicy: grantPolicy, requestedGrant: requestedGrant)
        }
    }

    struct SessionResponse: Encodable {
        var sessionToken: String
        var connectURL: String
        var expiresIn: Int
        var expiresAt: Date

        enum CodingKeys: String, CodingKey {
            case sessionToken = "session_token"
            case connectURL = "connect_url"
            case expiresIn = "expires_in"
            case expiresAt = "expires_at"
        }
    }

    struct PollRequest: Decodable {
        var sessionToken: String

        enum CodingKeys: String, CodingKey {
            case sessionToken = "session_token"
        }
    }

    struct PollResponse: Encodable {
        struct Grant: Encodable {
            var grantID: String
            var providerID: String
            var accountIdentifier: String
            var scopes: [String]
            var operation: String

            enum CodingKeys: String, CodingKey {
                case scopes, operation
                case grantID = "grant_id"
                case providerID = "provider_id"
                case accountIdentifier = "account_identifier"
            }
        }

        struct Failure: Encodable {
            var errorCode: String
            var errorMessage: String

            enum CodingKeys: String, CodingKey {
                case errorCode = "error_code"
                case errorMessage = "error_message"
            }
        }

        /// The SDK's words: `pending`, `completed`, `error`, `expired`.
        var status: String
        var grants: [Grant]?
        var error: Failure?
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.sdkPost("oauth", "connect", "session", use: create)
        routes.sdkPost("oauth", "connect", "session", "poll", use: poll)
    }

    func create(request: Request) async throws -> Response {
        let app = try request.authenticatedApp.app
        let body = try request.content.decode(SessionRequest.self)
        let minted = try await SessionMinter.mint(body.order, for: app, on: request.application, db: request.db)
        let expiresIn = max(0, Int(minted.expiresAt.timeIntervalSince(request.application.clock.now()).rounded(.down)))
        return try .sdkJSON(
            SessionResponse(sessionToken: minted.token, connectURL: minted.connectURL, expiresIn: expiresIn, expiresAt: minted.expiresAt),
            status: .created)
    }

    func poll(request: Request) async throws -> Response {
        let app = try request.authenticatedApp.app
        let body = try request.content.decode(PollRequest.self)
        // Another app's session answers like an unknown token.
        guard let session = try await ConnectSession.find(token: body.sessionToken, on: request.db), session.$app.id == app.id else {
            throw SDKError(status: .badRequest, code: "invalid_token", message: "The session token is malformed or not recognised.")
        }
        let catalog = try await request.application.providerCatalog.forApp(session.$app.id, on: request.db)
        let result = try await SessionResult.read(session, catalog: catalog, now: request.application.clock.now(), on: request.db)
        var response = PollResponse(status: result.status.rawValue)
        switch result.status {
        case .pending:
            break
        case .completed:
            response.grants = result.grants.map {
                .init(grantID: $0.grantID, providerID: $0.provider, accountIdentifier: $0.accountIdentifier, scopes: $0.scopes.filter { !$0.isEmpty },
                    operation: $0.operation.rawValue)
            }
        case .failed:
            response.status = "error"
            // The person said no at the provider: the SDK's ConnectDeniedError.
            let code = result.error?.code == APIError.Code.oauthDenied.rawValue ? "connect_denied" : result.error?.code ?? "connect_failed"
            response.error = .init(errorCode: code, errorMessage: result.error?.message ?? "The Connect flow failed.")
        case .expired:
            break
        }
        return try .sdkJSON(response)
    }
}
