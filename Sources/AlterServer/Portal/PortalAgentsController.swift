import Fluent
import Vapor

/// An app's agents (`AgentRegistry`: create with its first key shown once, revoke) and its
/// managed secrets (`ManagedSecrets`: list, add, delete).
struct PortalAgentsController {
    func register(_ app: any RoutesBuilder) {
        app.get("agents", use: agents)
        app.post("agents", use: createAgent)
        app.post("agents", ":agent", "revoke", use: revokeAgent)
        app.get("secrets", use: secrets)
        app.post("secrets", use: createSecret)
        app.post("secrets", ":secret", "delete", use: deleteSecret)
    }

    private func registry(_ request: Request, appID: UUID) -> AgentRegistry {
        AgentRegistry(db: request.db, appID: appID, now: request.application.clock.now(), cache: request.application.appKeyCache)
    }

    func agents(request: Request) async throws -> Response {
        try await agentsPage(request, created: nil, error: nil)
    }

    func createAgent(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        do {
            let created = try await registry(request, appID: try app.requireID()).create(
                .init(name: PortalForm.field(request, "name"), displayName: PortalForm.optionalField(request, "display_name")))
            return try await agentsPage(request, created: (created.agent.name, created.secret), error: nil)
        } catch let error as APIError {
            return try await agentsPage(request, created: nil, error: error.message, status: error.status)
        }
    }

    func revokeAgent(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        _ = try await registry(request, appID: try app.requireID()).revoke(request.parameters.get("agent") ?? "")
        return PortalForm.redirect(PortalPage.Section.agents.path(try app.requireID()), done: "agent_revoked")
    }

    private func agentsPage(_ request: Request, created: (name: String, secret: String)?, error: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let base = PortalPage.Section.agents.path(appID)
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        var body = "<p>Agents act for your app with their own <code>alter_ak_</code> keys, on the grants delegated to them.</p>"
        if let created {
            body += "<div class=\"box\" id=\"new-agent-key\" role=\"status\"><p><strong>Agent \(HTML.escape(created.name)) is created.</strong> Store its key now: it is not shown again.</p>"
                + PortalForm.shownOnce(created.secret, id: "agent-key-value", label: "Agent key") + "</div>"
        }
        let (agents, _) = try await registry(request, appID: appID).list(includeRevoked: true, limit: 1000)
        body += "<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Display name</th><th scope=\"col\">Kind</th><th scope=\"col\">Status</th><th scope=\"col\">Last used</th><th scope=\"col\"></th></tr></thead><tbody>"
        for agent in agents {
            let revoke = agent.status == .revoked ? ""
                : "<form class=\"inline\" method=\"post\" action=\"\(base)/\(try agent.publicID())/revoke\">\(csrf)<button type=\"submit\" class=\"danger\" aria-label=\"Revoke agent \(HTML.escape(agent.name))\">Revoke</button></form>"
            body += "<tr><td><code>\(HTML.escape(agent.name))</code></td><td>\(HTML.escape(agent.displayName ?? "—"))</td><td>\(agent.kind.rawValue)</td>"
                + "<td>\(agent.status.rawValue)</td><td>\(agent.lastUsedAt == nil ? "never" : PortalForm.date(agent.lastUsedAt))</td><td>\(revoke)</td></tr>"
        }
        if agents.isEmpty { body += "<tr><td colspan=\"6\">No agents yet.</td></tr>" }
        body += "</tbody></table><h2>Create an agent</h2>" + (error.map(PortalForm.error) ?? "")
            + "<form class=\"box\" method=\"post\" action=\"\(base)\">\(csrf)"
            + "<label for=\"agent-name\">Name <span class=\"hint\">lowercase letters, digits, - and _; never reused</span></label><input id=\"agent-name\" name=\"name\" required>"
            + "<label for=\"agent-display\">Display name <span class=\"hint\">shown to people on the Connect pages</span></label><input id=\"agent-display\" name=\"display_name\">"
            + "<button type=\"submit\" id=\"create-agent\">Create agent</button></form>"
        return PortalPage().response(request, title: "Agents", body: body, app: .init(app: app, section: .agents), status: status)
    }

    private func managedSecrets(_ request: Request, appID: UUID) -> ManagedSecrets {
        ManagedSecrets(application: request.application, db: request.db, appID: appID, caller: "portal:" + (request.signedInOperator?.email ?? ""))
    }

    func secrets(request: Request) async throws -> Response {
        try await secretsPage(request, error: nil)
    }

    /// The same `SecretDefinition` checks as `POST /v1/secrets` and `alter secrets create`; the
    /// value comes from a password field and is never rendered back.
    func createSecret(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let template = PortalForm.field(request, "template")
        let kind = SecretTemplate.named(template)?.kind
        let token = PortalForm.field(request, "value")
        let value: [String: String] = kind == .basic ? ["username": PortalForm.field(request, "username"), "password": token] : ["token": token]
        let input = SecretDefinition.Input(
            name: PortalForm.optionalField(request, "name"), slug: nil, template: template, header: PortalForm.optionalField(request, "header"),
            format: PortalForm.optionalField(request, "format"), queryParameter: PortalForm.optionalField(request, "query_parameter"),
            allowedHosts: PortalForm.optionalField(request, "allowed_hosts").map { $0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) },
            allowsPrivateNetwork: PortalForm.checkbox(request, "allow_private_network"), value: value)
        do {
            _ = try await managedSecrets(request, appID: try app.requireID()).create(try SecretDefinition(validating: input))
        } catch let error as SecretInputError {
            return try await secretsPage(request, error: error.description, status: .badRequest)
        } catch let error as APIError {
            return try await secretsPage(request, error: error.message, status: error.status)
        }
        return PortalForm.redirect(PortalPage.Section.secrets.path(try app.requireID()), done: "saved")
    }

    private func secretsPage(_ request: Request, error: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let base = PortalPage.Section.secrets.path(appID)
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        let all = try await managedSecrets(request, appID: appID).all()
        var body = "<p>API keys and other static credentials the vault injects into proxied calls; values are write-only. Rotate them with <code>alter secrets rotate</code> or <code>/v1/secrets</code>.</p>"
        body += "<table><thead><tr><th scope=\"col\">Slug</th><th scope=\"col\">Name</th><th scope=\"col\">Template</th><th scope=\"col\">Allowed hosts</th><th scope=\"col\">Rotated</th><th scope=\"col\"></th></tr></thead><tbody>"
        for secret in all {
            body += "<tr><td><code>\(HTML.escape(secret.slug))</code></td><td>\(HTML.escape(secret.name))</td><td>\(HTML.escape(secret.template))</td>"
                + "<td>\(HTML.escape(secret.allowedHosts.joined(separator: " ")))</td><td>\(secret.rotatedAt == nil ? "never" : PortalForm.date(secret.rotatedAt))</td>"
                + "<td><form class=\"inline\" method=\"post\" action=\"\(base)/\(try secret.requireID().lowercasedString)/delete\">\(csrf)"
                + "<label class=\"hint\" for=\"confirm-\(HTML.escape(secret.slug))\">Type the slug to delete</label><input id=\"confirm-\(HTML.escape(secret.slug))\" name=\"confirm\" autocomplete=\"off\">"
                + "<button type=\"submit\" class=\"danger\">Delete</button></form></td></tr>"
        }
        if all.isEmpty { body += "<tr><td colspan=\"6\">No managed secrets.</td></tr>" }
        body += "</tbody></table><h2>Add a managed secret</h2>" + (error.map(PortalForm.error) ?? "")
            + "<form class=\"box\" method=\"post\" action=\"\(base)\">\(csrf)"
            + "<label for=\"secret-template\">Template</label><select id=\"secret-template\" name=\"template\">"
            + SecretTemplate.all.map { "<option value=\"\(HTML.escape($0.slug))\">\(HTML.escape($0.name))</option>" }.joined() + "</select>"
            + "<label for=\"secret-name\">Name</label><input id=\"secret-name\" name=\"name\" required>"
            + "<label for=\"secret-value\">Value <span class=\"hint\">stored encrypted, never shown again; for Basic: the password</span></label>"
            + "<input id=\"secret-value\" name=\"value\" type=\"password\" autocomplete=\"off\" required>"
            + "<label for=\"secret-username\">Username <span class=\"hint\">Basic templates only</span></label><input id=\"secret-username\" name=\"username\">"
            + "<label for=\"secret-hosts\">Allowed hosts <span class=\"hint\">origins, space-separated; empty: the template's</span></label><input id=\"secret-hosts\" name=\"allowed_hosts\">"
            + "<label for=\"secret-header\">Header <span class=\"hint\">generic header templates</span></label><input id=\"secret-header\" name=\"header\">"
            + "<label for=\"secret-format\">Format <span class=\"hint\">custom template, e.g. Token {token}</span></label><input id=\"secret-format\" name=\"format\">"
            + "<label for=\"secret-query\">Query parameter <span class=\"hint\">api_key_query template</span></label><input id=\"secret-query\" name=\"query_parameter\">"
            + "<label><input type=\"checkbox\" name=\"allow_private_network\"> Allow http and private addresses (a service on this machine or LAN)</label>"
            + "<button type=\"submit\" id=\"create-secret\">Add secret</button></form>"
        return PortalPage().response(request, title: "Managed secrets", body: body, app: .init(app: app, section: .secrets), status: status)
    }

    func deleteSecret(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let secrets = managedSecrets(request, appID: appID)
        let secret = try await secrets.find(request.parameters.get("secret"))
        guard PortalForm.field(request, "confirm") == secret.slug else { throw APIError.invalidRequest("Type the secret's slug exactly to delete it.") }
        try await secrets.delete(secret)
        return PortalForm.redirect(PortalPage.Section.secrets.path(appID), done: "secret_deleted")
    }
}
