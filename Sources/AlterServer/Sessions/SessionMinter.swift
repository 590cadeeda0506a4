import FluentKit
import Foundation
import Vapor

/// Minting a Connect session: the one capability behind `POST /v1/connect/sessions` and the
/// official SDK's `POST /sdk/oauth/connect/session`. Each surface decodes its own wire shape
/// into an `Order`; every rule and the stored row are here.
enum SessionMinter {
    /// What an app asks for, in the seeds' `create_connect_session` terms.
    struct Order: Sendable {
        var allowedProviders: [String]?
        var allowedOrigin: String?
        var returnURL: String?
        var userToken: String?
        var agent: String?
        /// Client context an SDK forwards (`ip_address`, `user_agent`); kept on the session.
        var metadata: [String: String]?
        /// A grant of this app to re-authorize when the same account comes back (the official
        /// SDK's `repair_grant_id`, with exactly one provider). Only a grant of this app, of
        /// that provider, for that account and end user is ever matched (`GrantWriter`).
        var repairGrantID: String?
        /// `grant_policy` and `requested_grant` as sent (`GrantTerms` reads them).
        var grantPolicy: LooseJSON?
        var requestedGrant: LooseJSON?
    }

    struct Minted: Sendable {
        /// The session token; only its hash is stored.
        let token: String
        let connectURL: String
        let expiresAt: Date
        let sessionID: UUID
    }

    /// Checks `order` for `app` and stores a pending session. Throws `APIError` for a
    /// request that breaks a rule; nothing is stored then.
    static func mint(_ order: Order, for app: ClientApp, on application: Application, db: any Database) async throws -> Minted {
        let appID = try app.requireID()
        let configured = try await ProviderConfig.query(on: db)
            .filter(\.$app.$id == appID).filter(\.$enabled == true).all(\.$provider)
        let catalog = try await application.providerCatalog.forApp(appID, on: db)
        let accepted = try ConnectSessionRules.check(order, app: app, configuredProviders: configured.filter { catalog[$0] != nil })
        var subject: String?
        if let userToken = order.userToken {
            subject = try await application.userTokenVerifier.verify(userToken, for: app)
        }
        // The agent the session's grants are delegated to: an active agent of this app.
        var agentID: UUID?
        if let reference = accepted.agent {
            let agent = try await AgentDirectory(db: db, appID: appID).find(reference)
            guard agent.status == .active else { throw APIError(.agentNotFound, "Agent \(agent.name) is not active.") }
            agentID = try agent.requireID()
        }

        let configuration = application.alterConfiguration
        let token = SecretToken.generate(prefix: ConnectSession.tokenPrefix)
        let session = ConnectSession()
        session.id = UUID()
        session.$app.id = appID
        session.tokenHash = SecretToken.hash(token)
        session.allowedProviders = accepted.providers
        session.origin = accepted.origin.value
        session.returnURL = accepted.returnURL
        session.userSubject = subject
        session.$agent.id = agentID
        session.metadata = accepted.metadata
        session.repairGrantID = accepted.repairGrantID
        session.grantTerms = accepted.terms?.json
        session.expiresAt = application.clock.now().addingTimeInterval(configuration.sessionTTL)
        session.status = .pending
        try await session.create(on: db)
        AlterMetrics.sessionMinted()
        return Minted(
            token: token, connectURL: configuration.publicURL + "/connect?token=" + token, expiresAt: session.expiresAt,
            sessionID: try session.requireID())
    }
}
