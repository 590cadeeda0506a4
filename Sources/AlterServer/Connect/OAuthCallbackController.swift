import Fluent
import FluentKit
import Foundation
import SQLKit
import Vapor

/// `GET /oauth/callback/{provider}`: where a provider sends the browser back, one redirect
/// URI per provider (`ProviderConfig.redirectURI(publicURL:)`), and `GET /oauth/callback`
/// for configs made before that.
struct OAuthCallbackController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("oauth", "callback", use: callback)
        routes.get("oauth", "callback", ":provider", use: callback)
    }

    func callback(request: Request) async throws -> Response {
        let now = request.application.clock.now()
        func refused(_ status: HTTPResponseStatus, _ why: String) -> HostedPageError {
            HostedPageError(title: "This sign-in cannot be completed", text: why + " Close this window and start again from the app.", status: status)
        }
        // RFC 6749 §10.12: no state, no token request. Read from the raw query: a parameter
        // sent twice is refused, never resolved to its last value.
        let parsed = Result { () throws(AuthorizationResponse.Violation) in try AuthorizationResponse(query: request.url.query) }
        let state: String?
        switch parsed {
        case .success(let response): state = response.state
        case .failure(let violation): state = violation.state
        }
        guard let state, state.count == 43 else {
            throw refused(.badRequest, "The provider sent the browser back without a valid state.")
        }
        guard let attempt = try await OAuthAttempt.query(on: request.db).filter(\.$stateHash == SecretToken.hash(state)).first(),
            let session = try await ConnectSession.find(attempt.$session.id, on: request.db)
        else {
            throw refused(.notFound, "This sign-in is not known here.")
        }
        let gone = refused(.gone, "This sign-in was already used or has expired.")
        guard attempt.consumedAt == nil, now < attempt.expiresAt else { throw gone }
        guard BrowserBinding.matches(request, sessionID: try session.requireID(), browserHash: attempt.browserHash) else {
            throw refused(.forbidden, "It was started in another browser.")
        }
        guard try await Self.consume(attempt, at: now, on: request.db) else { throw gone }
        // Held while this callback talks to the provider: if this server dies, readers see the
        // lease lapse and end the attempt within seconds (AttemptLease).
        do {
            return try await AttemptLease.holding(attempt, clock: request.application.clock, on: request.db) {
                try await complete(attempt, parsed, session: session, request: request, now: now)
            }
        } catch {
            // A database or sealer failure after the state was consumed (security review F11):
            // the session ends as failed, so the page posts an error to the widget (onError)
            // instead of leaving it pending with raw JSON in the popup.
            request.logger.error("callback failed", metadata: ["provider": .string(attempt.provider), "type": "\(type(of: error))"])
            _ = try? await AttemptLease.end(attempt, at: now, on: request.db) { db in
                _ = try await SessionStore(db: db).fail(session, Self.internalError, at: now)
            }
            return request.redirect(to: ConnectUIController.flowPath(try session.requireID()), redirectType: .normal)
        }
    }

    /// After a valid, consumed `state`: the provider's answer, the token exchange, the grant.
    private func complete(
        _ attempt: OAuthAttempt, _ parsed: Result<AuthorizationResponse, AuthorizationResponse.Violation>, session: ConnectSession,
        request: Request, now: Date
    ) async throws -> Response {
        let flow = request.redirect(to: ConnectUIController.flowPath(try session.requireID()) + "?connected=" + FormEncoding.escape(attempt.provider), redirectType: .normal)
        let done = request.redirect(to: ConnectUIController.flowPath(try session.requireID()), redirectType: .normal)
        let catalog = try await request.application.providerCatalog.forApp(session.$app.id, on: request.db)
        // Every way out ends the attempt with its outcome in one transaction (AttemptLease.end);
        // one that finds the attempt already ended (its lease lapsed) shows what was recorded.
        guard session.state(at: now) == .inFlow, let provider = catalog[attempt.provider] else {
            _ = try await AttemptLease.end(attempt, at: now, on: request.db) { db in try await SessionStore(db: db).expireIfDue(session, at: now) }
            return done
        }
        func fail(_ error: APIError) async throws -> Response {
            // Security review F20: in a multi-provider session one provider's deny or error does
            // not end the session or hide what was connected: back to the picker, where the
            // user picks another provider or finishes with the grants made so far.
            let several = session.allowedProviders.count > 1
            let ended = try await AttemptLease.end(attempt, at: now, on: request.db) { db in
                if !several { _ = try await SessionStore(db: db).fail(session, error, at: now) }
            }
            if several, ended {
                return request.redirect(
                    to: ConnectUIController.flowPath(try session.requireID()) + "?declined=" + FormEncoding.escape(provider.id)
                        + "&error=" + error.code.rawValue,
                    redirectType: .normal)
            }
            return done
        }

        // RFC 9700 §4.4.2.2: the response must arrive at the redirect URI this attempt named,
        // or it was meant for another provider (mix-up).
        let publicURL = request.application.alterConfiguration.publicURL
        let redirectURI = attempt.redirectURI ?? ProviderConfig.redirectURI(publicURL: publicURL, provider: attempt.provider, legacy: true)
        guard publicURL + request.url.path == redirectURI else {
            return try await fail(Self.providerError(["error": "redirect_uri_mismatch", "error_description": "the authorization response arrived at another provider's redirect URI"]))
        }
        let response: AuthorizationResponse
        switch parsed {
        case .success(let value): response = value
        case .failure(let violation): return try await fail(Self.providerError(["error": "invalid_response", "error_description": violation.rule]))
        }
        // RFC 9207: a response with another server's issuer, or without the one this provider sends, is a mix-up attempt.
        if let problem = response.issuerProblem(
            expected: provider.issuer, required: provider.requiresIssuerParameter, knownIssuers: Set(catalog.sorted.compactMap(\.issuer)))
        {
            return try await fail(Self.providerError(["error": response.issuer == nil ? "issuer_missing" : "issuer_mismatch", "error_description": problem]))
        }
        let code: String
        switch response.answer {
        case .error("access_denied", _):
            return try await fail(APIError(.oauthDenied, "Access was not granted at \(provider.name)."))
        case .error(let error, let description):
            var details = ["error": error]
            details["error_description"] = description
            return try await fail(Self.providerError(details))
        case .code(let value):
            code = value
        }
        guard let config = try await ProviderConfig.query(on: request.db).filter(\.$app.$id == session.$app.id)
                .filter(\.$provider == provider.id).first()
        else {
            return try await fail(Self.providerError(["error": "provider_not_configured", "error_description": "the app no longer has this provider configured"]))
        }

        let sealer = request.application.sealer
        let client = request.application.oauthClient
        let account: OAuthClient.Account
        var tokens: ProviderTokens
        do {
            tokens = try await client.exchangeCode(
                code, verifier: try attempt.verifier(using: sealer), provider: provider, config: config,
                clientSecret: try config.clientSecret(using: sealer), redirectURI: redirectURI)
            // OIDC Core §3.1.3.7: an ID token answering our nonce, or the code was not ours.
            if let nonceHash = attempt.nonceHash, let idToken = tokens.idToken {
                try IDToken.check(idToken, nonceHash: nonceHash, issuer: provider.issuer, clientID: config.clientID, now: now)
            }
            account = try await client.fetchAccount(provider: provider, accessToken: tokens.accessToken, variables: (config.variables ?? [:]).merging(tokens.variables) { $1 })
            tokens.variables.merge(account.variables) { $1 }
        } catch let error as ProviderError {
            request.logger.notice("token exchange failed", metadata: ["provider": .string(provider.id), "error": .string(error.error)])
            return try await fail(Self.providerError(error.details))
        }
        let requested = OAuthClient.requestedScopes(provider: provider, config: config)
        let stored = tokens
        // The grant, the session's completion (its last provider) and the attempt's end commit
        // together: a crash leaves all or none, never a grant missing from the session's result.
        let ended = try await AttemptLease.end(attempt, at: now, on: request.db) { db in
            _ = try await GrantWriter(db: db, sealer: sealer, catalog: catalog, now: now)
                .write(session: session, provider: provider.id, account: account, tokens: stored, requestedScopes: requested)
            if Set(session.allowedProviders).isSubset(of: try await SessionGrants.connectedProviders(of: session, on: db)) {
                _ = try await SessionStore(db: db).complete(session, at: now)
            }
        }
        guard ended else { return done }
        // Finished (the last provider, or a race already ended it): the finish page at once,
        // without the redirect hop through the flow page (issue 13, speed).
        if session.status != .pending {
            return try await ConnectUIController.finishPage(
                session, catalog: catalog, events: [.init(name: "OAUTH_COMPLETE", metadata: ["provider": attempt.provider])], request: request, on: request.db)
        }
        return flow
    }

    static let internalError = APIError(.internalError, "Something went wrong while connecting the account. Close this window and try again.")

    static func providerError(_ details: [String: String]) -> APIError {
        APIError(.oauthProviderError, "The provider reported an error during sign-in.", details: details)
    }

    /// Marks the attempt used only if it was not already: a replayed `state` gets nothing. The
    /// winner takes the attempt's lease (AttemptLease).
    static func consume(_ attempt: OAuthAttempt, at now: Date, on db: any Database) async throws -> Bool {
        try await ClaimOnce.claim(OAuthAttempt.schema, id: attempt.requireID(), on: db) {
            $0.set("consumed_at", to: now).set("lease_until", to: now.addingTimeInterval(AttemptLease.duration))
                .where("consumed_at", .is, SQLLiteral.null).where("finished_at", .is, SQLLiteral.null)
        }
    }
}
