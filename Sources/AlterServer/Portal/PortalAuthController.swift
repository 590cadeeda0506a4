import Fluent
import Foundation
import Vapor

/// Sign-in, sign-out and the setup link. Before a session exists, the forms are protected by
/// a double-submit token (a SameSite=Strict cookie and the same value in the form) and the
/// same-origin check, so another site cannot sign a browser in to its own account.
struct PortalAuthController {
    static let loginCookie = "alter_portal_login"

    func register(public routes: any RoutesBuilder, signedIn: any RoutesBuilder) {
        routes.get("login", use: loginPage)
        routes.post("login", use: login)
        routes.get("setup", use: setupPage)
        routes.post("setup", use: setup)
        signedIn.post("logout", use: logout)
    }

    func loginPage(request: Request) async throws -> Response {
        if request.signedInOperator != nil { return PortalForm.redirect(Self.next(request.query[String.self, at: "next"])) }
        return form(request, error: nil, email: "", status: .ok)
    }

    func login(request: Request) async throws -> Response {
        let email = PortalForm.field(request, "email")
        guard Self.passesPreSessionCheck(request) else { return form(request, error: "This form expired or came from another site. Try again.", email: email, status: .forbidden) }
        let accounts = OperatorAccounts(application: request.application, db: request.db)
        let account: Operator
        do {
            account = try await accounts.authenticate(email: email, password: PortalForm.field(request, "password"), address: request.remoteAddress?.ipAddress)
        } catch let failure as OperatorAccounts.Failure {
            let status: HTTPResponseStatus
            if case .throttled = failure { status = .tooManyRequests } else { status = .unauthorized }
            let response = form(request, error: failure.description, email: email, status: status)
            if case .throttled(let wait) = failure { response.headers.replaceOrAdd(name: .retryAfter, value: String(Int(wait.rounded(.up)))) }
            return response
        }
        return try await signIn(account, request: request, next: Self.next(PortalForm.optionalField(request, "next")))
    }

    func logout(request: Request) async throws -> Response {
        let cookie = try await request.operatorSessions.end(request)
        let response = PortalForm.redirect("/portal/login", done: "signed_out")
        response.cookies[OperatorSessions.cookieName] = cookie
        return response
    }

    func setupPage(request: Request) async throws -> Response {
        let token = request.query[String.self, at: "token"] ?? ""
        let accounts = OperatorAccounts(application: request.application, db: request.db)
        guard let account = try? await accounts.setupAccount(token: token) else {
            return PortalPage().response(request, title: "Setup link not valid", body: PortalForm.error(OperatorAccounts.Failure.setupLinkInvalid.description), status: .gone)
        }
        return setupForm(request, token: token, email: account.email, error: nil, status: .ok)
    }

    func setup(request: Request) async throws -> Response {
        let token = PortalForm.field(request, "token")
        let accounts = OperatorAccounts(application: request.application, db: request.db)
        guard let account = try? await accounts.setupAccount(token: token) else {
            return PortalPage().response(request, title: "Setup link not valid", body: PortalForm.error(OperatorAccounts.Failure.setupLinkInvalid.description), status: .gone)
        }
        guard Self.passesPreSessionCheck(request) else {
            return setupForm(request, token: token, email: account.email, error: "This form expired or came from another site. Try again.", status: .forbidden)
        }
        let password = PortalForm.field(request, "password")
        guard password == PortalForm.field(request, "confirm") else {
            return setupForm(request, token: token, email: account.email, error: "The two passwords differ.", status: .badRequest)
        }
        do {
            let updated = try await accounts.completeSetup(token: token, password: password)
            return try await signIn(updated, request: request, next: PortalPaths.root)
        } catch let failure as OperatorAccounts.Failure {
            return setupForm(request, token: token, email: account.email, error: failure.description, status: .badRequest)
        }
    }

    private func signIn(_ account: Operator, request: Request, next: String) async throws -> Response {
        let started = try await request.operatorSessions.start(for: account)
        let response = PortalForm.redirect(next)
        response.cookies[OperatorSessions.cookieName] = started.cookie
        response.cookies[Self.loginCookie] = request.operatorSessions.cookie("", maxAge: 0)
        return response
    }

    /// Only a portal path of this vault (no `//host`, no scheme): no open redirect.
    static func next(_ raw: String?) -> String {
        guard let raw, raw == PortalPaths.root || raw.hasPrefix(PortalPaths.root + "/"), !raw.contains("//"), !raw.contains("\\"),
            !raw.hasPrefix("/portal/login"), !raw.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return PortalPaths.root }
        return raw
    }

    static func passesPreSessionCheck(_ request: Request) -> Bool {
        PortalForm.isSameOrigin(request)
            && PortalForm.tokensMatch(request.cookies[loginCookie]?.string, PortalForm.field(request, "csrf"))
    }

    /// The pre-session token: the cookie's value, or a new one set with this response.
    private func preSessionToken(_ request: Request) -> (String, isNew: Bool) {
        if let value = request.cookies[Self.loginCookie]?.string, value.count == 43 { return (value, false) }
        return (SecretToken.randomString(bytes: 32), true)
    }

    private func withPreSessionCookie(_ response: Response, _ token: (String, isNew: Bool), request: Request) -> Response {
        if token.isNew { response.cookies[Self.loginCookie] = request.operatorSessions.cookie(token.0, maxAge: 3600) }
        return response
    }

    private func form(_ request: Request, error: String?, email: String, status: HTTPResponseStatus) -> Response {
        let token = preSessionToken(request)
        let next = Self.next(request.query[String.self, at: "next"] ?? PortalForm.optionalField(request, "next"))
        let body = (error.map(PortalForm.error) ?? "") + """
            <form class="box" method="post" action="/portal/login">\
            <input type="hidden" name="csrf" value="\(HTML.escape(token.0))"><input type="hidden" name="next" value="\(HTML.escape(next))">\
            <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="\(HTML.escape(email))">\
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>\
            <button type="submit" id="sign-in">Sign in</button></form>\
            <p class="muted">No account? An administrator creates one on the server with <code>alter operators create --email you@example.com</code>.</p>
            """
        return withPreSessionCookie(PortalPage().response(request, title: "Sign in", body: body, status: status), token, request: request)
    }

    private func setupForm(_ request: Request, token setupToken: String, email: String, error: String?, status: HTTPResponseStatus) -> Response {
        let token = preSessionToken(request)
        let body = (error.map(PortalForm.error) ?? "") + """
            <p>Choose a password for <strong>\(HTML.escape(email))</strong> (at least \(OperatorPassword.minimumLength) characters).</p>\
            <form class="box" method="post" action="/portal/setup">\
            <input type="hidden" name="csrf" value="\(HTML.escape(token.0))"><input type="hidden" name="token" value="\(HTML.escape(setupToken))">\
            <input type="hidden" name="email" value="\(HTML.escape(email))" autocomplete="username">\
            <label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" required minlength="\(OperatorPassword.minimumLength)">\
            <label for="confirm">Repeat it</label><input id="confirm" name="confirm" type="password" autocomplete="new-password" required>\
            <button type="submit" id="set-password">Set password and sign in</button></form>
            """
        return withPreSessionCookie(PortalPage().response(request, title: "Set up your operator account", body: body, status: status), token, request: request)
    }
}
