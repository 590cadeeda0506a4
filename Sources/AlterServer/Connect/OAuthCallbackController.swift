import Fluent
import FluentKit
import Foundation
import SQLKit
import Vapor

/// `GET /oauth/callback`: where every provider sends the browser back.
struct OAuthCallbackController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("oauth", "callback", use: callback)
    }

    /// The one redirect URI registered at providers: exact string match (RFC 9700 §4.1.3).
    static func redirectURI(_ app: Application) -> String {
        app.alterConfiguration.publicURL + "/oauth/callback"
    }

    func callback(request: Request) async throws -> Response {
        let now = request.application.clock.now()
        let refused = HostedPageError(
            title: "This sign-in cannot be completed",
            text: "The link is missing, was already used, expired, or was opened in another browser. Close this window and start again from the app.")
        // RFC 6749 §10.12: no state, no token request.
        guard let state = request.query[String.self, at: "state"], state.count == 43,
            let attempt = try await OAuthAttempt.query(on: request.db).filter(\.$stateHash == SecretToken.hash(state)).first(),
            let session = try await ConnectSession.find(attempt.$session.id, on: request.db),
            BrowserBinding.matches(request, sessionID: session.id!, browserHash: attempt.browserHash),
            try await Self.consume(attempt, at: now, on: request.db),
            now < attempt.expiresAt
        else {
            throw refused
        }
        // Whatever happens next, the attempt is over once this returns (the result endpoint
        // reports an attempt in progress until then).
        do {
            let response = try await complete(attempt, session: session, request: request, now: now)
            try await Self.markFinished(attempt, at: now, on: request.db)
            return response
        } catch {
            try? await Self.markFinished(attempt, at: now, on: request.db)
            throw error
        }
    }

    /// After a valid, consumed `state`: the provider's answer, the token exchange, the grant.
    private func complete(_ attempt: OAuthAttempt, session: ConnectSession, request: Request, now: Date) async throws -> Response {
        let flow = request.redirect(to: ConnectUIController.flowPath(try session.requireID()) + "?connected=" + FormEncoding.escape(attempt.provider), redirectType: .normal)
        let done = request.redirect(to: ConnectUIController.flowPath(try session.requireID()), redirectType: .normal)
        let catalog = try await request.application.providerCatalog.forApp(session.$app.id, on: request.db)
        let store = SessionStore(db: request.db)
        guard session.state(at: now) == .inFlow, let provider = catalog[attempt.provider] else {
            try await store.expireIfDue(session, at: now)
            return done
        }
        func fail(_ error: APIError) async throws -> Response {
            _ = try await store.fail(session, error, at: now)
            return done
        }

        // RFC 9207: a response carrying another server's issuer is a mix-up attempt.
        if let issuer = request.query[String.self, at: "iss"], let expected = provider.issuer, issuer != expected {
            return try await fail(Self.providerError(["error": "issuer_mismatch", "error_description": "the authorization response came from an unexpected issuer"]))
        }
        if let error = request.query[String.self, at: "error"] {
            if error == "access_denied" {
                return try await fail(APIError(.oauthDenied, "Access was not granted at \(provider.name)."))
            }
            var details = ["error": String(error.prefix(100))]
            details["error_description"] = request.query[String.self, at: "error_description"].map { String($0.prefix(500)) }
            return try await fail(Self.providerError(details))
        }
        guard let code = request.query[String.self, at: "code"], !code.isEmpty, code.count <= 2048,
            let config = try await ProviderConfig.query(on: request.db).filter(\.$app.$id == session.$app.id)
                .filter(\.$provider == provider.id).first()
        else {
            return try await fail(Self.providerError(["error": "invalid_response", "error_description": "the provider sent no authorization code"]))
        }

        let sealer = request.application.sealer
        let client = request.application.oauthClient
        do {
            var tokens = try await client.exchangeCode(
                code, verifier: try attempt.verifier(using: sealer), provider: provider, config: config,
                clientSecret: try config.clientSecret(using: sealer), redirectURI: Self.redirectURI(request.application))
            let account = try await client.fetchAccount(provider: provider, accessToken: tokens.accessToken, variables: (config.variables ?? [:]).merging(tokens.variables) { $1 })
            tokens.variables.merge(account.variables) { $1 }
            let requested = config.scopes.isEmpty ? provider.defaultScopes : config.scopes
            _ = try await GrantWriter(db: request.db, sealer: sealer, catalog: catalog, now: now)
                .write(session: session, provider: provider.id, account: account, tokens: tokens, requestedScopes: requested)
        } catch let error as ProviderError {
            request.logger.notice("token exchange failed", metadata: ["provider": .string(provider.id), "error": .string(error.error)])
            return try await fail(Self.providerError(error.details))
        }
        let connected = try await SessionGrants.connectedProviders(of: session, on: request.db)
        if Set(session.allowedProviders).isSubset(of: connected) {
            _ = try await store.complete(session, at: now)
        }
        return flow
    }

    static func markFinished(_ attempt: OAuthAttempt, at now: Date, on db: any Database) async throws {
        attempt.finishedAt = now
        try await attempt.update(on: db)
    }

    static func providerError(_ details: [String: String]) -> APIError {
        APIError(.oauthProviderError, "The provider reported an error during sign-in.", details: details)
    }

    /// Marks the attempt used only if it was not already: a replayed `state` gets nothing.
    static func consume(_ attempt: OAuthAttempt, at now: Date, on db: any Database) async throws -> Bool {
        try await ClaimOnce.claim(OAuthAttempt.schema, id: attempt.requireID(), on: db) {
            $0.set("consumed_at", to: now).where("consumed_at", .is, SQLLiteral.null)
        }
    }
}
