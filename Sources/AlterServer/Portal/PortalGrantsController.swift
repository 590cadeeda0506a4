import Fluent
import Vapor

/// An app's grants: filtered list (`GrantListing`), detail with its audit trail, revoke
/// (`GrantRevocation`, the same as `DELETE /v1/grants/{id}`).
struct PortalGrantsController {
    static let pageSize = 50

    func register(_ app: any RoutesBuilder) {
        app.get("grants", use: list)
        app.get("grants", ":grant", use: show)
        app.post("grants", ":grant", "revoke", use: revoke)
    }

    func list(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let base = PortalPage.Section.grants.path(appID)
        let provider = request.query[String.self, at: "provider"].flatMap { $0.isEmpty ? nil : $0 }
        let user = request.query[String.self, at: "user"].flatMap { $0.isEmpty ? nil : $0 }
        let status = request.query[String.self, at: "status"].flatMap(Grant.Status.init(rawValue:))
        let agentName = request.query[String.self, at: "agent"].flatMap { $0.isEmpty ? nil : $0 }
        let offset = max(0, request.query[Int.self, at: "offset"] ?? 0)
        var listing = GrantListing(provider: provider, userSubject: user, status: status)
        var body = ""
        if let agentName {
            if let agent = try? await AgentDirectory(db: request.db, appID: appID).find(agentName) {
                listing.delegatedTo = agent
            } else {
                body += PortalForm.error("No agent “\(agentName)”: showing no grants.")
            }
        }
        let page: GrantListing.Page = (agentName != nil && listing.delegatedTo == nil)
            ? .init(grants: [], total: 0) : try await listing.page(appID: appID, limit: Self.pageSize, offset: offset, on: request.db)
        let catalog = try await request.application.providerCatalog.forApp(appID, on: request.db)
        body += "<form method=\"get\" action=\"\(base)\" class=\"filters\">"
            + "<div><label for=\"f-provider\">Provider</label><select id=\"f-provider\" name=\"provider\"><option value=\"\">any</option>"
            + catalog.sorted.map { "<option value=\"\(HTML.escape($0.id))\"\($0.id == provider ? " selected" : "")>\(HTML.escape($0.name))</option>" }.joined()
            + "</select></div><div><label for=\"f-user\">User (sub)</label><input id=\"f-user\" name=\"user\" value=\"\(HTML.escape(user ?? ""))\"></div>"
            + "<div><label for=\"f-status\">Status</label><select id=\"f-status\" name=\"status\"><option value=\"\">any</option>"
            + [Grant.Status.active, .error, .pending].map { "<option\($0 == status ? " selected" : "")>\($0.rawValue)</option>" }.joined()
            + "</select></div><div><label for=\"f-agent\">Agent</label><input id=\"f-agent\" name=\"agent\" value=\"\(HTML.escape(agentName ?? ""))\"></div>"
            + "<button type=\"submit\">Filter</button></form>"
        body += "<p>\(page.total) grant(s).</p><table><thead><tr><th scope=\"col\">Provider</th><th scope=\"col\">Account</th><th scope=\"col\">User</th><th scope=\"col\">Status</th><th scope=\"col\">Created</th></tr></thead><tbody>"
        for grant in page.grants {
            let id = try grant.requireID()
            body += "<tr><td>\(HTML.escape(catalog[grant.provider]?.name ?? grant.provider))</td>"
                + "<td><a href=\"\(base)/\(id.lowercasedString)\">\(HTML.escape(grant.accountEmail ?? grant.accountDisplayName ?? grant.accountIdentifier))</a></td>"
                + "<td>\(HTML.escape(grant.userSubject.isEmpty ? "—" : grant.userSubject))</td><td>\(grant.status.rawValue)</td><td>\(PortalForm.date(grant.createdAt))</td></tr>"
        }
        if page.grants.isEmpty { body += "<tr><td colspan=\"5\">No grants match.</td></tr>" }
        body += "</tbody></table>" + Self.pager(request, offset: offset, count: page.grants.count, total: page.total, pageSize: Self.pageSize)
        return PortalPage().response(request, title: "Grants", body: body, app: .init(app: app, section: .grants))
    }

    /// Previous/next links that keep the other query parameters.
    static func pager(_ request: Request, offset: Int, count: Int, total: Int?, pageSize: Int) -> String {
        func link(_ newOffset: Int, _ text: String) -> String {
            var components = URLComponents(string: request.url.string) ?? URLComponents()
            var items = (components.queryItems ?? []).filter { $0.name != "offset" && $0.name != "done" }
            items.append(URLQueryItem(name: "offset", value: String(newOffset)))
            components.queryItems = items
            return "<a href=\"\(HTML.escape(components.path + "?" + (components.percentEncodedQuery ?? "")))\" rel=\"\(text == "Newer" || text == "Previous" ? "prev" : "next")\">\(text)</a>"
        }
        var html = "<p class=\"pager\">"
        if offset > 0 { html += link(max(0, offset - pageSize), "Previous") }
        let more = total.map { offset + count < $0 } ?? (count == pageSize)
        if more { html += link(offset + pageSize, "Next") }
        return html + "</p>"
    }

    private func grant(_ request: Request, app: ClientApp) async throws -> Grant {
        guard let id = request.parameters.get("grant").flatMap(UUID.init(uuidString:)),
            let grant = try await Grant.query(on: request.db).filter(\.$id == id).filter(\.$app.$id == app.requireID()).first()
        else { throw APIError(.grantNotFound, "No such grant for this app (it may have been revoked).") }
        return grant
    }

    func show(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let grant = try await grant(request, app: app)
        let id = try grant.requireID()
        let catalog = try await request.application.providerCatalog.forApp(appID, on: request.db)
        let rows: [(String, String)] = [
            ("Grant id", "<code>\(id.lowercasedString)</code>"),
            ("Provider", HTML.escape(catalog[grant.provider]?.name ?? grant.provider)),
            ("Account", HTML.escape(grant.accountIdentifier)),
            ("Email", HTML.escape(grant.accountEmail ?? "—")),
            ("Name", HTML.escape(grant.accountDisplayName ?? "—")),
            ("User (sub)", HTML.escape(grant.userSubject.isEmpty ? "—" : grant.userSubject)),
            ("Scopes", HTML.escape(grant.scopes.joined(separator: " "))),
            ("Status", grant.status.rawValue),
            ("Access token expires", PortalForm.date(grant.expiresAt)),
            ("Created", PortalForm.date(grant.createdAt)),
        ]
        var body = "<table><tbody>" + rows.map { "<tr><th scope=\"row\">\($0.0)</th><td>\($0.1)</td></tr>" }.joined() + "</tbody></table>"
        body += "<p class=\"hint\">Tokens are never shown here.</p>"
        let events = try await AuditQuery(appID: appID, grantID: id).events(limit: 20, on: request.db)
        body += "<h2>Recent activity</h2>" + PortalAuditController.table(events)
            + "<p><a href=\"\(PortalPage.Section.audit.path(appID))?grant=\(id.lowercasedString)\">All audit entries of this grant</a></p>"
        body += "<h2>Revoke</h2><form class=\"box\" method=\"post\" action=\"\(PortalPage.Section.grants.path(appID))/\(id.lowercasedString)/revoke\">"
            + PortalForm.csrfField(request.signedInOperator!)
            + "<p>The vault revokes the tokens at the provider where it can, deletes them, and announces <code>grant.revoked</code>.</p>"
            + "<label for=\"reason\">Reason (kept in the audit log)</label><input id=\"reason\" name=\"reason\" maxlength=\"\(AuditEvent.maxReasonLength)\">"
            + "<button type=\"submit\" class=\"danger\" id=\"revoke-grant\">Revoke grant</button></form>"
        return PortalPage().response(request, title: "Grant", body: body, app: .init(app: app, section: .grants))
    }

    func revoke(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let grant = try await grant(request, app: app)
        let operatorEmail = request.signedInOperator?.email ?? "operator"
        let reason = PortalForm.optionalField(request, "reason").map { String($0.prefix(AuditEvent.maxReasonLength)) } ?? "revoked in the portal by \(operatorEmail)"
        _ = try await GrantRevocation.revoke(grant, reason: reason, request: request)
        return PortalForm.redirect(PortalPage.Section.grants.path(try app.requireID()), done: "grant_revoked")
    }
}
