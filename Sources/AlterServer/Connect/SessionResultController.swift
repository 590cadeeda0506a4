import Fluent
import FluentKit
import Foundation
import Vapor

/// `GET /v1/connect/sessions/result` (Bearer session token): how a session ended, for the
/// widget when a popup closed without a message (a provider's COOP cut `window.opener`) or
/// after a full-page redirect. CORS answers only the session's own origin.
struct SessionResultController: RouteCollection {
    struct ResultResponse: Content {
        var status: SessionResult.Status
        var oauthInProgress: Bool
        var grants: [GrantPayload]?
        var error: APIErrorBody.Payload?

        init(_ result: SessionResult) {
            status = result.status
            oauthInProgress = result.oauthInProgress
            grants = result.status == .completed ? result.grants : nil
            error = result.error
        }

        enum CodingKeys: String, CodingKey {
            case status, grants, error
            case oauthInProgress = "oauth_in_progress"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(ResultCORS()).get("v1", "connect", "sessions", "result", use: result)
        routes.on(.OPTIONS, "v1", "connect", "sessions", "result", use: preflight)
    }

    func result(request: Request) async throws -> Response {
        guard let token = request.headers.bearerAuthorization?.token,
            let session = try await ConnectSession.find(token: token, on: request.db)
        else {
            throw APIError(.invalidToken, "The session token is malformed or not recognised.", status: .unauthorized)
        }
        let catalog = try await request.application.providerCatalog.forApp(session.$app.id, on: request.db)
        let result = try await SessionResult.read(session, catalog: catalog, now: request.application.clock.now(), on: request.db)
        let response = Response(status: .ok)
        response.headers.cacheControl = .init(noStore: true)
        try response.content.encode(ResultResponse(result))
        response.headers.replaceOrAdd(name: .vary, value: "Origin")
        if request.headers.first(name: .origin) == session.origin {
            response.headers.replaceOrAdd(name: .accessControlAllowOrigin, value: session.origin)
        }
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

    /// The result route's CORS decision for its errors: an unknown or malformed token has no
    /// session origin, so the calling page's origin may read the `invalid_token` answer (it
    /// reveals nothing). Successful answers carry the session's own origin only.
    struct ResultCORS: AsyncMiddleware {
        func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
            do {
                return try await next.respond(to: request)
            } catch {
                let response = try APIErrorMiddleware.response(for: error, request: request)
                if let origin = request.headers.first(name: .origin), (try? AllowedOrigin(parsing: origin)) != nil {
                    response.headers.replaceOrAdd(name: .accessControlAllowOrigin, value: origin)
                    response.headers.replaceOrAdd(name: .vary, value: "Origin")
                }
                return response
            }
        }
    }
}
