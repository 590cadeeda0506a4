import Fluent
import FluentKit
import Foundation
import Vapor

/// The backend-facing half of a Connect session: minting.
struct ConnectSessionController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(AppKeyAuthenticator()).post("v1", "connect", "sessions", use: create)
    }

    func create(request: Request) async throws -> Response {
        let authenticated = try request.authenticatedApp
        let app = authenticated.app
        let body = try request.content.decode(CreateConnectSessionRequest.self)
        let configured = try await ProviderConfig.query(on: request.db)
            .filter(\.$app.$id == app.requireID()).filter(\.$enabled == true).all(\.$provider)
        let catalog = try await request.application.providerCatalog.forApp(app.requireID(), on: request.db)
        let accepted = try ConnectSessionRules.check(body, app: app, configuredProviders: configured.filter { catalog[$0] != nil })
        var subject: String?
        if let userToken = body.userToken {
            subject = try await request.application.userTokenVerifier.verify(userToken, for: app)
        }

        let configuration = request.application.alterConfiguration
        let token = SecretToken.generate(prefix: ConnectSession.tokenPrefix)
        let session = ConnectSession()
        session.$app.id = try app.requireID()
        session.tokenHash = SecretToken.hash(token)
        session.allowedProviders = accepted.providers
        session.origin = accepted.origin.value
        session.returnURL = accepted.returnURL
        session.userSubject = subject
        session.agent = accepted.agent
        session.expiresAt = request.application.clock.now().addingTimeInterval(configuration.sessionTTL)
        session.status = .pending
        try await session.create(on: request.db)

        let response = CreateConnectSessionResponse(
            sessionToken: token,
            connectURL: configuration.publicURL + "/connect?token=" + token,
            expiresAt: session.expiresAt)
        let http = Response(status: .created)
        http.headers.cacheControl = .init(noStore: true)
        try http.content.encode(response)
        return http
    }
}
