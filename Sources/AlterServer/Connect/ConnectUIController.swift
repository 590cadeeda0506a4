import Fluent
import FluentKit
import Foundation
import Vapor

/// The hosted Connect UI: token entry, provider picker, start of OAuth, Done.
struct ConnectUIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        _ = HostedPage.js  // read the pages' script once, at start-up
        routes.get("connect", use: entry)
        routes.get("connect", "wait", use: wait)
        routes.get("connect", "s", ":session", use: flow)
        routes.get("connect", "s", ":session", "start", use: start)
        routes.post("connect", "s", ":session", "done", use: done)
    }

    static func flowPath(_ sessionID: UUID) -> String { "/connect/s/\(sessionID.lowercasedString)" }

    /// `GET /connect?token&nonce&mode`: consume the token once, bind this browser, and render
    /// the flow page at once (a 303 to it cost the popup a whole navigation, issue 13). The token
    /// leaves the address bar and history by the page's `history.replaceState` to the clean flow
    /// URL, which is also what a reload loads; it never reaches a Referer (`no-referrer`). A
    /// browser without scripts keeps the consumed token in its address bar: reloading it shows
    /// `session_expired`, and the page's `<noscript>` link continues the flow.
    func entry(request: Request) async throws -> Response {
        let token = request.query[String.self, at: "token"] ?? ""
        let nonce = request.query[String.self, at: "nonce"].flatMap { Self.isValidNonce($0) ? $0 : nil }
        let mode: ConnectSession.Mode = request.query[String.self, at: "mode"] == "popup" ? .popup : .redirect
        let now = request.application.clock.now()
        guard let session = try await ConnectSession.find(token: token, on: request.db) else {
            return Self.invalidTokenPage(request, status: SecretToken.isWellFormed(token, prefix: ConnectSession.tokenPrefix) ? .notFound : .badRequest)
        }
        let sessionID = try session.requireID()
        let cookie = BrowserBinding.newValue()
        // F1: a link forwarded from another site is refused before anyone can consume it.
        let evidence = FirstLoadProof.evidence(of: request, sessionOrigin: session.origin)
        if session.state(at: now) == .unused, evidence == .foreignPage { return FirstLoadProof.foreignPage(request) }
        if session.state(at: now) == .unused,
            try await SessionStore(db: request.db).consume(session, browserHash: SecretToken.hash(cookie), nonce: nonce, mode: mode, at: now)
        {
            // F1: in redirect mode the app's page as Referer is the proof; a popup proves itself by its handshake.
            let shown = mode == .redirect && evidence == .appPage
            let proof = FirstLoadProof.token(cookieValue: cookie, sessionID: sessionID)
            let address = shown ? FirstLoadProof.adding(proof, to: Self.flowPath(sessionID)) : Self.flowPath(sessionID)
            let catalog = try await request.application.providerCatalog.forApp(session.$app.id, on: request.db)
            // No transaction around the consume and the page's attempt: on SQLite a transaction
            // spanning the page's reads holds the write lock across awaits, and writers waiting
            // for it block the SQLite thread pool (parallel tests deadlocked on it).
            let page = try await Self.flowPage(
                session, now: now, catalog: catalog, proof: proof, proofPresented: shown, address: address, request: request, on: request.db)
            BrowserBinding.setCookie(cookie, for: sessionID, on: page, configuration: request.application.alterConfiguration)
            return page
        }
        // A second load (or an expired token) reports session_expired to whoever opened it.
        return FinishPage.render(
            session: session, grants: [], error: ConnectSession.expiredError.payload, nonce: nonce, mode: mode, request: request)
    }

    /// `GET /connect/wait`: where the widget opens its popup when the app's session token is still
    /// on its way (a promise), so the popup opens in the click's own task and no browser's popup
    /// blocker loses it; the widget then navigates the popup to `/connect?token…`. It knows no
    /// session and holds nothing: no script, no cookie, nothing to consume.
    func wait(request: Request) async throws -> Response {
        HostedPage().response(
            title: "Connecting", body: ConnectPages.message("Connecting…", "Opening the sign-in page."),
            isHTTPS: request.application.alterConfiguration.isHTTPS)
    }

    /// `GET /connect/s/{id}`: the picker, the automatic start for a single provider, or the end.
    func flow(request: Request) async throws -> Response {
        let (session, now) = try await Self.boundSession(request)
        let catalog = try await request.application.providerCatalog.forApp(session.$app.id, on: request.db)
        var events: [HostedPage.Script.Event] = []
        if let connected = request.query[String.self, at: "connected"], session.allowedProviders.contains(connected) {
            events.append(.init(name: "OAUTH_COMPLETE", metadata: ["provider": connected]))
        }
        // Back from a provider that refused (multi-provider sessions, see the callback).
        var notice: String?
        if let declined = request.query[String.self, at: "declined"], session.allowedProviders.contains(declined),
            let code = request.query[String.self, at: "error"].flatMap(APIError.Code.init(rawValue:)), [.oauthDenied, .oauthProviderError].contains(code)
        {
            events.append(.init(name: "OAUTH_ERROR", metadata: ["provider": declined, "error_code": code.rawValue]))
            let name = catalog[declined]?.name ?? declined
            notice = code == .oauthDenied ? "Access was not granted at \(name)." : "\(name) reported an error; nothing was connected there."
        }
        let proof = FirstLoadProof.token(request, sessionID: try session.requireID()) ?? ""
        let presented = FirstLoadProof.isPresented(request, sessionID: try session.requireID())
        return try await Self.flowPage(
            session, now: now, catalog: catalog, proof: proof, proofPresented: presented, events: events, notice: notice, request: request, on: request.db)
    }

    /// The flow page of a bound session: the picker, the automatic start for a single
    /// provider, or the end. `proof` is this browser's proof token; `address`, when set, is the
    /// clean URL the page puts in the address bar (the entry renders this page itself).
    static func flowPage(
        _ session: ConnectSession, now: Date, catalog: ProviderCatalog, proof: String, proofPresented: Bool, address: String? = nil,
        events: [HostedPage.Script.Event] = [], notice: String? = nil, request: Request, on db: any Database
    ) async throws -> Response {
        try await SessionStore(db: db).expireIfDue(session, at: now)
        try await AttemptLease.settle(session, at: now, on: db)
        if session.status != .pending { return try await Self.finishPage(session, catalog: catalog, events: events, request: request, on: db) }
        let sessionID = try session.requireID()
        let connected = try await SessionGrants.connectedProviders(of: session, on: db)
        let page = HostedPage()
        let isHTTPS = request.application.alterConfiguration.isHTTPS
        var script = HostedPage.Script(nonce: session.nonce, origin: session.origin, events: events)
        script.address = address
        // The app as its operator branded it in the portal (display name, logo, accent).
        let branding = try await session.$app.get(on: db).connectBranding
        let agentNotice = try await session.$agent.get(on: db).map { ConnectPages.agentNotice(appName: branding.name, agentName: $0.shownName) } ?? ""
        // F1: every start carries this browser's proof; without a shown first load nothing starts on its own.
        script.prove = !(try await FirstLoadProof.isShown(presented: proofPresented, session: session, on: db))

        if connected.isEmpty, session.allowedProviders.count == 1, let only = session.allowedProviders.first {
            // One provider: the page links straight to its authorization page, with the attempt
            // made now (a provider that cannot start links to `/start`, which shows why).
            let name = catalog[only]?.name ?? only
            script.events += [.init(name: "PROVIDER_SELECTED", metadata: ["provider": only]), .init(name: "OAUTH_STARTED", metadata: ["provider": only])]
            do {
                script.next = try await OAuthStart.begin(session, provider: only, now: now, request: request, on: db)
            } catch is HostedPageError {
                script.next = FirstLoadProof.adding(proof, to: Self.startPath(sessionID, provider: only))
            }
            var body = ConnectPages.message("Connecting to \(name)…", "Taking you to \(name) to sign in.")
            if script.prove {
                let interstitial = { (noscript: Bool) in
                    FirstLoadProof.interstitial(
                        appName: branding.name, providerName: name, sessionOrigin: session.origin, continuePath: script.next!, provider: only, noscript: noscript)
                }
                body = agentNotice + "<div id=\"alter-connecting\">\(body)</div>" + interstitial(false) + "<noscript>\(interstitial(true))</noscript>"
            } else {
                body = agentNotice + body + "<noscript><a href=\"\(HTML.escape(script.next!))\">Continue</a></noscript>"
            }
            return page.response(title: "Connecting", body: body, script: script, isHTTPS: isHTTPS, branding: branding)
        }
        let entries = session.allowedProviders.compactMap { id -> ConnectPages.PickerEntry? in
            guard let provider = catalog[id] else { return nil }
            return .init(provider: provider, connected: connected.contains(id), startPath: FirstLoadProof.adding(proof, to: Self.startPath(sessionID, provider: id)))
        }
        script.pickerLinks = true
        let body = agentNotice + (script.prove ? FirstLoadProof.pickerWarning(appName: branding.name, sessionOrigin: session.origin) : "")
            + ConnectPages.picker(
                appName: branding.name, entries: entries, donePath: connected.isEmpty ? nil : Self.flowPath(sessionID) + "/done", notice: notice)
        return page.response(title: "Connect an account", body: body, script: script, isHTTPS: isHTTPS, branding: branding)
    }

    /// `GET /connect/s/{id}/start?provider=`: a new OAuth attempt, then off to the provider.
    func start(request: Request) async throws -> Response {
        let (session, now) = try await Self.boundSession(request)
        guard FirstLoadProof.isPresented(request, sessionID: try session.requireID()) else { return FirstLoadProof.startRefused(request) }
        guard session.state(at: now) == .inFlow else {
            return request.redirect(to: Self.flowPath(try session.requireID()), redirectType: .normal)
        }
        // A hand-built start URL for a provider the app did not offer in this session.
        guard let providerID = request.query[String.self, at: "provider"], session.allowedProviders.contains(providerID) else {
            return Self.errorPage(request, "This provider is not part of this session", "Go back and pick one of the listed providers.", status: .forbidden)
        }
        let url = try await OAuthStart.begin(session, provider: providerID, now: now, request: request, on: request.db)
        let response = request.redirect(to: url, redirectType: .normal)
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        return response
    }

    /// `POST /connect/s/{id}/done`: finish with the grants made so far.
    func done(request: Request) async throws -> Response {
        let (session, now) = try await Self.boundSession(request)
        if session.status == .pending, !(try await SessionGrants.connectedProviders(of: session, on: request.db).isEmpty) {
            _ = try await SessionStore(db: request.db).complete(session, at: now)
        }
        return request.redirect(to: Self.flowPath(try session.requireID()), redirectType: .normal)
    }

    // MARK: - Helpers

    /// The end of a finished session's flow: the finish page (the result posted to the widget, or
    /// off to `return_url`) with the binding cookie cleared. Rendered by the flow page and, to save
    /// the browser a redirect hop, by the OAuth callback that finished the session.
    static func finishPage(
        _ session: ConnectSession, catalog: ProviderCatalog, events: [HostedPage.Script.Event], request: Request, on db: any Database
    ) async throws -> Response {
        let grants = try await SessionGrants.payloads(of: session, catalog: catalog, on: db)
        let page = FinishPage.render(
            session: session, grants: grants, error: session.error, events: events,
            nonce: session.nonce, mode: session.mode, request: request)
        BrowserBinding.clear(for: try session.requireID(), on: page, configuration: request.application.alterConfiguration)
        return page
    }

    static func startPath(_ sessionID: UUID, provider: String) -> String {
        flowPath(sessionID) + "/start?provider=" + FormEncoding.escape(provider)
    }

    static func isValidNonce(_ nonce: String) -> Bool {
        (16...64).contains(nonce.count) && nonce.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    /// The session named in the path, only for the browser bound to it.
    static func boundSession(_ request: Request) async throws -> (ConnectSession, Date) {
        guard let id = request.parameters.get("session", as: UUID.self), let session = try await ConnectSession.find(id, on: request.db) else {
            throw HostedPageError(title: "This Connect link is not valid", text: "Close this window and start again from the app.", status: .notFound)
        }
        guard BrowserBinding.matches(request, sessionID: id, browserHash: session.browserHash) else {
            throw HostedPageError(
                title: "This Connect window cannot continue",
                text: "It was opened in another browser, or it already finished. Close it and start again from the app.", status: .forbidden)
        }
        return (session, request.application.clock.now())
    }

    static func invalidTokenPage(_ request: Request, status: HTTPResponseStatus) -> Response {
        // The origin to tell is unknown, so nothing is posted: the page closes itself and
        // the widget learns `invalid_token` from the result endpoint.
        let page = HostedPage()
        var script = HostedPage.Script()
        script.close = true
        return page.response(
            title: "Invalid link",
            body: ConnectPages.message("This Connect link is not valid", "Close this window and start again from the app.", code: "invalid_token"),
            script: script, status: status, isHTTPS: request.application.alterConfiguration.isHTTPS)
    }

    static func errorPage(_ request: Request, _ title: String, _ text: String, status: HTTPResponseStatus) -> Response {
        HostedPage().response(title: title, body: ConnectPages.message(title, text), status: status, isHTTPS: request.application.alterConfiguration.isHTTPS)
    }
}
