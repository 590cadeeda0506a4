import Fluent
import Vapor

/// JWT identity (`IdentitySettings`) and a box to test a `user_token` with the same
/// `UserTokenVerifier` that `/v1/connect/sessions` uses.
struct PortalIdentityController {
    func register(_ app: any RoutesBuilder) {
        app.get("identity", use: show)
        app.post("identity", use: save)
        app.post("identity", "test", use: test)
    }

    func show(request: Request) async throws -> Response {
        try await page(request, app: try await request.portalApp(), error: nil, result: nil)
    }

    func save(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let pem = PortalForm.optionalField(request, "public_key_pem")
        let settings = IdentitySettings(
            issuer: PortalForm.field(request, "issuer"), audience: PortalForm.optionalField(request, "audience"),
            anyAudience: PortalForm.field(request, "any_audience") == "on", authorizedParty: PortalForm.optionalField(request, "authorized_party"),
            jwksURL: PortalForm.optionalField(request, "jwks_url"), publicKeyPEM: pem.map { $0 + "\n" },
            algorithms: IdentitySettings.algorithms(PortalForm.field(request, "algorithms")))
        do {
            try settings.apply(to: app)
        } catch let error as APIError {
            return try await page(request, app: try await request.portalApp(), error: error.message, result: nil, status: .badRequest)
        }
        try await app.update(on: request.db)
        return PortalForm.redirect(PortalPage.Section.identity.path(try app.requireID()), done: "saved")
    }

    func test(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let token = PortalForm.field(request, "token").trimmingCharacters(in: .whitespacesAndNewlines)
        guard app.hasJWTIdentity else {
            return try await page(request, app: app, error: nil, result: (false, "Set up JWT identity first."), status: .badRequest)
        }
        do {
            let subject = try await request.application.userTokenVerifier.verify(token, for: app)
            return try await page(request, app: app, error: nil, result: (true, "Valid. Its end user (sub) is “\(subject)”."))
        } catch let error as APIError {
            return try await page(request, app: app, error: nil, result: (false, error.message))
        }
    }

    private func page(_ request: Request, app: ClientApp, error: String?, result: (ok: Bool, text: String)?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let base = PortalPage.Section.identity.path(try app.requireID())
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        var body = "<p>How the vault verifies the <code>user_token</code> your backend passes when it mints a Connect session.</p>"
        body += (error.map(PortalForm.error) ?? "")
            + "<form class=\"box\" method=\"post\" action=\"\(base)\">\(csrf)"
            + "<label for=\"issuer\">Issuer (<code>iss</code>)</label><input id=\"issuer\" name=\"issuer\" required value=\"\(HTML.escape(app.jwtIssuer ?? ""))\">"
            + "<label for=\"audience\">Audience (<code>aud</code>)</label><input id=\"audience\" name=\"audience\" value=\"\(HTML.escape(app.jwtAudience ?? ""))\">"
            + "<label><input type=\"checkbox\" name=\"any_audience\" id=\"any_audience\"\(app.jwtAnyAudience == true ? " checked" : "")> Accept any audience "
            + "<span class=\"hint\">only for an issuer that serves this app alone</span></label>"
            + "<label for=\"authorized_party\">Authorized party (<code>azp</code>, optional)</label><input id=\"authorized_party\" name=\"authorized_party\" value=\"\(HTML.escape(app.jwtAuthorizedParty ?? ""))\">"
            + "<label for=\"jwks_url\">JWKS URL <span class=\"hint\">https; or paste a public key below instead</span></label><input id=\"jwks_url\" name=\"jwks_url\" type=\"url\" value=\"\(HTML.escape(app.jwtJWKSURL ?? ""))\">"
            + "<label for=\"public_key_pem\">Public key (PEM)</label><textarea id=\"public_key_pem\" name=\"public_key_pem\">\(HTML.escape(app.jwtPublicKeyPEM ?? ""))</textarea>"
            + "<label for=\"algorithms\">Algorithms <span class=\"hint\">comma-separated; empty: the default (\(UserTokenVerifier.supportedAlgorithms.sorted().joined(separator: ", ")) supported)</span></label>"
            + "<input id=\"algorithms\" name=\"algorithms\" value=\"\(HTML.escape(app.jwtAlgorithms?.joined(separator: ", ") ?? ""))\">"
            + "<button type=\"submit\" id=\"save-identity\">Save</button></form>"
        body += "<h2 id=\"test\">Test a token</h2>"
        if let result {
            body += "<p class=\"\(result.ok ? "notice" : "error")\" id=\"test-result\" role=\"status\">\(HTML.escape(result.text))</p>"
        }
        body += "<form class=\"box\" method=\"post\" action=\"\(base)/test\">\(csrf)<label for=\"token\">A user_token (JWT)</label>"
            + "<textarea id=\"token\" name=\"token\" autocomplete=\"off\" spellcheck=\"false\"></textarea><button type=\"submit\" id=\"test-token\">Verify</button></form>"
        return PortalPage().response(request, title: "JWT identity", body: body, app: .init(app: app, section: .identity), status: status)
    }
}
