import Fluent
import FluentKit
import Foundation
import Vapor

/// `GET /v1/connect/sessions/result` (Bearer session token): how a session ended, for the
/// widget when a popup closed without a message (a provider's COOP cut `window.opener`) or
/// after a full-page redirect. CORS answers only the session's own origin.
struct SessionResultController: RouteCollection {
    struct ResultResponse: Content {
        enum Status: String, Codable {
            case pending, completed, failed, expired
        }
        var status: Status
        var oauthInProgress: Bool
        var grants: [GrantPayload]?
        var error: APIErrorBody.Payload?

        enum CodingKeys: String, CodingKey {
            case status, grants, error
            case oauthInProgress = "oauth_in_progress"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("v1", "connect", "sessions", "result", use: result)
        routes.on(.OPTIONS, "v1", "connect", "sessions", "result", use: preflight)
    }

    func result(request: Request) async throws -> Response {
        let invalid = APIError(.invalidToken, "The session token is malformed or not recognised.", status: .unauthorized)
        guard let token = request.headers.bearerAuthorization?.token, SecretToken.isWellFormed(token, prefix: ConnectSession.tokenPrefix),
            let session = try await ConnectSession.query(on: request.db).filter(\.$tokenHash == SecretToken.hash(token)).first()
        else {
            throw CORSError(inner: invalid, origin: request.headers.first(name: .origin))
        }
        let now = request.application.clock.now()
        var body = ResultResponse(status: .pending, oauthInProgress: false)
        switch session.status {
        case .completed:
            body.status = .completed
            let catalog = try await request.application.providerCatalog.forApp(session.$app.id, on: request.db)
            body.grants = try await SessionOutcome.grants(of: session, catalog: catalog, on: request.db)
        case .failed:
            body.status = session.errorCode == APIError.Code.sessionExpired.rawValue ? .expired : .failed
            body.error = SessionOutcome.error(of: session)
        case .pending where SessionOutcome.isExpired(session, now: now):
            let expired = SessionOutcome.expiredError
            body.status = .expired
            body.error = .init(code: expired.code.rawValue, message: expired.message, details: nil)
        case .pending:
            // Started and not finished: the user is at the provider, or the callback is
            // still exchanging the code.
            body.oauthInProgress = try await OAuthAttempt.query(on: request.db)
                .filter(\.$session.$id == session.requireID()).filter(\.$finishedAt == nil)
                .filter(\.$expiresAt > now).count() > 0
        }
        let response = Response(status: .ok)
        response.headers.cacheControl = .init(noStore: true)
        try response.content.encode(body)
        Self.allowOrigin(session.origin, for: request, on: response)
        return response
    }

    /// Preflight for the `Authorization` header. It grants nothing by itself: whether a
    /// page may read the answer is decided on the real response, per session.
    func preflight(request: Request) async throws -> Response {
        let response = Response(status: .noContent)
        if let origin = request.headers.first(name: .origin), (try? AllowedOrigin(parsing: origin)) != nil {
            response.headers.replaceOrAdd(name: .accessControlAllowOrigin, value: origin)
            response.headers.replaceOrAdd(name: .accessControlAllowMethods, value: "GET")
            response.headers.replaceOrAdd(name: .accessControlAllowHeaders, value: "Authorization")
            response.headers.replaceOrAdd(name: .accessControlMaxAge, value: "600")
            response.headers.replaceOrAdd(name: .vary, value: "Origin")
        }
        return response
    }

    static func allowOrigin(_ allowed: String, for request: Request, on response: Response) {
        response.headers.replaceOrAdd(name: .vary, value: "Origin")
        if request.headers.first(name: .origin) == allowed {
            response.headers.replaceOrAdd(name: .accessControlAllowOrigin, value: allowed)
        }
    }
}

/// An API error from the result endpoint. An unknown token has no session origin, so the
/// calling page's origin may read the `invalid_token` answer (it reveals nothing).
struct CORSError: Error {
    let inner: APIError
    let origin: String?
}
