import Fluent
import FluentKit
import Foundation
import Vapor

/// `POST /v1/connect/sessions`: the backend mints a session (see `SessionMinter`).
struct ConnectSessionController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(AppKeyAuthenticator()).post("v1", "connect", "sessions", use: create)
    }

    func create(request: Request) async throws -> Response {
        let app = try request.authenticatedApp.app
        let body = try request.content.decode(CreateConnectSessionRequest.self)
        let minted = try await SessionMinter.mint(body.order, for: app, on: request.application, db: request.db)
        let http = Response(status: .created)
        http.headers.cacheControl = .init(noStore: true)
        try http.content.encode(
            CreateConnectSessionResponse(sessionToken: minted.token, connectURL: minted.connectURL, expiresAt: minted.expiresAt))
        return http
    }
}
