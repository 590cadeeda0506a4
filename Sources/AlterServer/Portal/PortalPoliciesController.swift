import Fluent
import FluentKit
import Foundation
import Vapor

/// An app's policy rules: listed, added and deleted by a signed-in operator through the same
/// `PolicyStore` as `/v1/policies` and `alter policies` (one check of a rule before it is
/// stored; the instance's rule cache forgotten after each change).
struct PortalPoliciesController {
    func register(_ app: any RoutesBuilder) {
        app.get("policies", use: policies)
        app.post("policies", use: create)
        app.post("policies", ":rule", "delete", use: delete)
    }

    private func store(_ request: Request, appID: UUID) -> PolicyStore {
        PolicyStore(db: request.db, index: request.application.policyIndex, appID: appID)
    }

    func policies(request: Request) async throws -> Response {
        try await page(request, error: nil)
    }

    func create(request: Request) async throws -> Response {
        let appID = try await request.portalApp().requireID()
        let settingsText = PortalForm.optionalField(request, "settings") ?? "{}"
        do {
            guard let data = settingsText.data(using: .utf8), let settings = try? JSONSerialization.jsonObject(with: data) else {
                throw APIError.invalidRequest("settings must be a JSON object, like {\"limit\": 60}.")
            }
            let draft = PolicyStore.Draft(
                scope: PortalForm.field(request, "scope"), target: PortalForm.optionalField(request, "target"),
                kind: PortalForm.field(request, "kind"), settings: try PoliciesController.normalizedSettings(settings),
                description: PortalForm.optionalField(request, "description"))
            _ = try await store(request, appID: appID).create(draft)
        } catch let refusal as APIError where (400..<500).contains(refusal.status.code) {
            // A rule the store refuses (bad kind, settings, scope or target): shown, nothing stored.
            return try await page(request, error: refusal.message, status: refusal.status)
        }
        return PortalForm.redirect(PortalPage.Section.policies.path(appID), done: "policy_added")
    }

    func delete(request: Request) async throws -> Response {
        let appID = try await request.portalApp().requireID()
        try await store(request, appID: appID).delete(request.parameters.get("rule") ?? "")
        return PortalForm.redirect(PortalPage.Section.policies.path(appID), done: "policy_deleted")
    }

    private func page(_ request: Request, error: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let base = PortalPage.Section.policies.path(appID)
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        let rules = try await store(request, appID: appID).list()
        var body = "<p>Rules checked before every use of a credential (<code>/v1/request</code>, <code>/sdk/token</code>, <code>/sdk/proxy</code>). "
            + "They only restrict, and an app with none allows every call. See <code>docs/policies.md</code> for each kind's settings.</p>"
            + (error.map(PortalForm.error) ?? "")
        body += "<table><thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">Applies to</th><th scope=\"col\">Settings</th><th scope=\"col\">Description</th><th scope=\"col\">Added</th><th scope=\"col\"></th></tr></thead><tbody>"
        for rule in rules {
            let id = try rule.requireID().lowercasedString
            let appliesTo = rule.scope.rawValue + (rule.target.map { " " + $0 } ?? "")
            body += "<tr id=\"rule-\(id)\"><td><code>\(HTML.escape(rule.kind))</code></td><td>\(HTML.escape(appliesTo))</td>"
                + "<td><code>\(HTML.escape(rule.settings))</code></td><td>\(HTML.escape(rule.ruleDescription ?? "—"))</td><td>\(PortalForm.date(rule.createdAt))</td>"
                + "<td><form class=\"inline\" method=\"post\" action=\"\(base)/\(id)/delete\">\(csrf)"
                + "<button type=\"submit\" class=\"danger\" aria-label=\"Delete the \(HTML.escape(rule.kind)) rule on \(HTML.escape(appliesTo))\">Delete</button></form></td></tr>"
        }
        if rules.isEmpty { body += "<tr><td colspan=\"6\">No rules: every call is allowed.</td></tr>" }
        body += "</tbody></table>"
        let scopes = PolicyRule.Scope.allCases.map { "<option value=\"\($0.rawValue)\">\($0.rawValue)</option>" }.joined()
        let kinds = PolicyCondition.kinds.map { "<option value=\"\($0)\">\($0)</option>" }.joined()
        body += "<h2>Add a rule</h2><form method=\"post\" action=\"\(base)\">\(csrf)"
            + "<label for=\"rule-kind\">Kind</label><select id=\"rule-kind\" name=\"kind\">\(kinds)</select>"
            + "<label for=\"rule-scope\">Applies to</label><select id=\"rule-scope\" name=\"scope\">\(scopes)</select>"
            + "<label for=\"rule-target\">Target (provider id or secret slug, agent id, grant id; empty for the app)</label><input id=\"rule-target\" name=\"target\" maxlength=\"200\">"
            + "<label for=\"rule-settings\">Settings (JSON object)</label><textarea id=\"rule-settings\" name=\"settings\" rows=\"3\">{}</textarea>"
            + "<label for=\"rule-description\">Description (optional)</label><input id=\"rule-description\" name=\"description\" maxlength=\"500\">"
            + "<button type=\"submit\">Add rule</button></form>"
        return PortalPage().response(request, title: "Policies", body: body, app: .init(app: app, section: .policies), status: status)
    }
}
