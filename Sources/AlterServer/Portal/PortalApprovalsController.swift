import Fluent
import Vapor

/// An app's calls waiting for approval, decided by a signed-in operator with the one decision
/// code the approver link uses (`ApprovalExecution.decide`: one conditional UPDATE, so an
/// operator and a link holder racing decide once, and the call runs once).
struct PortalApprovalsController {
    func register(_ app: any RoutesBuilder) {
        app.get("approvals", use: approvals)
        app.post("approvals", ":approval", "decision", use: decide)
    }

    func approvals(request: Request) async throws -> Response {
        try await page(request, error: nil)
    }

    func decide(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        guard let decision = ApprovalExecution.Decision(rawValue: PortalForm.field(request, "decision")) else {
            throw APIError.invalidRequest("Choose Approve or Deny.")
        }
        let approval = try await Approvals.find(request.parameters.get("approval") ?? "", appID: appID, request: request)
        do {
            _ = try await ApprovalExecution.decide(
                approval, by: .portalOperator(email: request.signedInOperator?.email ?? ""), decision: decision,
                reason: PortalForm.optionalField(request, "note"), request: request)
        } catch let error as APIError where error.code == .approvalDecided {
            return try await page(request, error: "This call was already decided or has expired; nothing was changed.", status: .conflict)
        } catch let error as APIError where error.code == .approverNotAllowed {
            return try await page(request, error: "\(error.message) Nothing was changed.", status: .forbidden)
        }
        return PortalForm.redirect(PortalPage.Section.approvals.path(appID), done: decision == .approve ? "approval_approved" : "approval_denied")
    }

    private func page(_ request: Request, error: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let base = PortalPage.Section.approvals.path(appID)
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        let pending = try await Approvals.pending(appID: appID, request: request)
        let agentIDs = Set(pending.compactMap(\.agentID))
        let agents = try await Agent.query(on: request.db).filter(\.$id ~~ agentIDs).all()
        let names = Dictionary(agents.compactMap { agent in agent.id.map { ($0, agent.name) } }, uniquingKeysWith: { first, _ in first })
        var body = "<p>Calls held by a <code>requires_approval</code> rule. Approving runs the call once, as the caller who asked; the app hears of new ones through the <code>approval.requested</code> webhook.</p>"
            + (error.map(PortalForm.error) ?? "")
        body += "<table><thead><tr><th scope=\"col\">Asked</th><th scope=\"col\">By</th><th scope=\"col\">Call</th><th scope=\"col\">Reason</th><th scope=\"col\">Expires</th><th scope=\"col\">Decision</th></tr></thead><tbody>"
        for approval in pending {
            let id = try approval.requireID().lowercasedString
            let components = URLComponents(string: approval.url)
            let who = [approval.agentID.map { "agent " + (names[$0] ?? $0.lowercasedString) }, approval.caller.map { "caller " + $0 }]
                .compactMap { $0 }.joined(separator: ", ")
            body += "<tr id=\"approval-\(id)\"><td>\(PortalForm.date(approval.createdAt))</td><td>\(HTML.escape(who.isEmpty ? "the app" : who))</td>"
                + "<td><code>\(HTML.escape(approval.method)) \(HTML.escape(components?.host ?? "?"))\(HTML.escape(components?.path ?? ""))</code></td>"
                + "<td>\(HTML.escape(approval.reason ?? "—"))</td><td>\(PortalForm.date(approval.expiresAt))</td>"
                + "<td><form class=\"inline\" method=\"post\" action=\"\(base)/\(id)/decision\">\(csrf)"
                + "<label class=\"hint\" for=\"note-\(id)\">Note (optional)</label><input id=\"note-\(id)\" name=\"note\" maxlength=\"500\">"
                + "<button type=\"submit\" name=\"decision\" value=\"approve\" aria-label=\"Approve \(HTML.escape(approval.method)) \(HTML.escape(components?.path ?? ""))\">Approve</button> "
                + "<button type=\"submit\" class=\"danger\" name=\"decision\" value=\"deny\" aria-label=\"Deny \(HTML.escape(approval.method)) \(HTML.escape(components?.path ?? ""))\">Deny</button></form></td></tr>"
        }
        if pending.isEmpty { body += "<tr><td colspan=\"6\">No calls are waiting for approval.</td></tr>" }
        body += "</tbody></table>"
        return PortalPage().response(request, title: "Approvals", body: body, app: .init(app: app, section: .approvals), status: status)
    }
}
