import Fluent
import Vapor

/// An app's keys (`AppKeyManagement`): list with last use, create (shown once), revoke.
struct PortalKeysController {
    func register(_ app: any RoutesBuilder) {
        app.get("keys", use: list)
        app.post("keys", use: create)
        app.post("keys", ":key", "revoke", use: revoke)
    }

    func list(request: Request) async throws -> Response {
        try await page(request, created: nil)
    }

    func create(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let (_, secret) = try await AppKeyManagement(db: request.db, appID: try app.requireID()).create()
        return try await page(request, created: secret)
    }

    func revoke(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        guard let id = request.parameters.get("key").flatMap(UUID.init(uuidString:)) else { throw APIError(.keyNotFound, "No such key for this app.") }
        _ = try await AppKeyManagement(db: request.db, appID: try app.requireID()).revoke(id, now: request.application.clock.now())
        return PortalForm.redirect(PortalPage.Section.keys.path(try app.requireID()), done: "key_revoked")
    }

    private func page(_ request: Request, created secret: String?) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        let base = PortalPage.Section.keys.path(appID)
        var body = ""
        if let secret {
            body += "<div class=\"box\" id=\"new-key\" role=\"status\"><p><strong>Your new key.</strong> Store it now: it is not shown again (only its SHA-256 is kept).</p>"
                + PortalForm.shownOnce(secret, id: "key-value", label: "App key") + "</div>"
        }
        body += "<p>App keys authenticate your backend on <code>/v1</code> (Bearer) and the official SDK (<code>x-api-key</code>). An agent's keys are on its page.</p>"
        let keys = try await AppKeyManagement(db: request.db, appID: appID).list()
        body += "<table><thead><tr><th scope=\"col\">Key</th><th scope=\"col\">Created</th><th scope=\"col\">Last used</th><th scope=\"col\">State</th><th scope=\"col\"></th></tr></thead><tbody>"
        for key in keys {
            let id = try key.requireID()
            let action = key.revokedAt == nil
                ? "<form class=\"inline\" method=\"post\" action=\"\(base)/\(id.lowercasedString)/revoke\">\(csrf)<button class=\"danger\" type=\"submit\" aria-label=\"Revoke key \(HTML.escape(key.displayPrefix))\">Revoke</button></form>"
                : ""
            body += "<tr><td><code>\(HTML.escape(key.displayPrefix))…</code></td><td>\(PortalForm.date(key.createdAt))</td><td>\(key.lastUsedAt == nil ? "never" : PortalForm.date(key.lastUsedAt))</td>"
                + "<td>\(key.revokedAt.map { "revoked " + PortalForm.date($0) } ?? "active")</td><td>\(action)</td></tr>"
        }
        if keys.isEmpty { body += "<tr><td colspan=\"5\">No keys yet.</td></tr>" }
        body += "</tbody></table><form method=\"post\" action=\"\(base)\">\(csrf)<button type=\"submit\" id=\"create-key\">Create a key</button></form>"
        return PortalPage().response(request, title: "Keys", body: body, app: .init(app: app, section: .keys))
    }
}
