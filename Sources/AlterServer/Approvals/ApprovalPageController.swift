import Fluent
import FluentKit
import Foundation
import Vapor

/// The hosted approval page (same page rules as the Connect UI: `HostedPage`'s CSP, no
/// framing, no referrer, no store). `GET /approvals/{id}` shows who asks for what and the
/// status; with the one-time approver token (`?t=`, from `/v1/approvals/{id}/approver-link`)
/// it also shows Approve and Deny, which `POST /approvals/{id}/decision` carries out.
struct ApprovalPageController: RouteCollection {
    struct Decision: Content {
        var t: String
        var decision: String
        var note: String?
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("approvals", ":approval", use: show)
        routes.on(.POST, "approvals", ":approval", "decision", body: .collect(maxSize: "16kb"), use: decide)
    }

    func show(request: Request) async throws -> Response {
        let approval = try await load(request)
        let token = try request.query.get(String?.self, at: "t")
        return try await page(approval, token: token, request: request)
    }

    func decide(request: Request) async throws -> Response {
        let approval = try await load(request)
        guard let form = try? request.content.decode(Decision.self), let decision = ApprovalExecution.Decision(rawValue: form.decision) else {
            throw HostedPageError(title: "Not a decision", text: "The form must carry the approver link's token and approve or deny.")
        }
        do {
            let decided = try await ApprovalExecution.decide(approval, by: .link(token: form.t), decision: decision, reason: form.note, request: request)
            return try await page(decided, token: nil, request: request, notice: decision == .approve ? "Approved." : "Denied.")
        } catch let error as APIError where error.code == .approvalDecided {
            let current = try await Approvals.find(try approval.requireID().uuidString, appID: nil, request: request)
            return try await page(current, token: nil, request: request, notice: error.message, status: .conflict)
        }
    }

    private func load(_ request: Request) async throws -> Approval {
        do {
            return try await Approvals.find(request.parameters.get("approval") ?? "", appID: nil, request: request)
        } catch let error as APIError where error.code == .approvalNotFound {
            throw HostedPageError(title: "No such approval", text: "This approval does not exist.", status: .notFound)
        }
    }

    private func page(_ approval: Approval, token: String?, request: Request, notice: String? = nil, status: HTTPResponseStatus = .ok) async throws -> Response {
        let id = try approval.requireID().lowercasedString
        let app = try await ClientApp.find(approval.$app.id, on: request.db)
        let agent = try await approval.agentID.flatMapAsync { try await Agent.find($0, on: request.db) }
        let components = URLComponents(string: approval.url)
        let who = [agent.map { "agent \($0.name)" }, approval.caller.map { "caller \($0)" }].compactMap { $0 }.joined(separator: ", ")
        var body = "<h1>Approve a call?</h1>"
        if let notice { body += "<p id=\"alter-notice\" role=\"status\">\(HTML.escape(notice))</p>" }
        body += """
            <dl>\
            <dt>App</dt><dd id="approval-app">\(HTML.escape(app?.name ?? "?"))</dd>\
            <dt>Asked by</dt><dd id="approval-who">\(HTML.escape(who.isEmpty ? "the app" : who))</dd>\
            <dt>Method</dt><dd id="approval-method">\(HTML.escape(approval.method))</dd>\
            <dt>Host</dt><dd id="approval-host">\(HTML.escape(components?.host ?? "?"))</dd>\
            <dt>Path</dt><dd id="approval-path">\(HTML.escape(components?.path ?? ""))</dd>\
            <dt>Reason</dt><dd id="approval-reason">\(HTML.escape(approval.reason ?? "(none given)"))</dd>\
            <dt>Status</dt><dd id="approval-status">\(HTML.escape(approval.status.rawValue))</dd>\
            <dt>Expires</dt><dd>\(HTML.escape(ISO8601DateFormatter().string(from: approval.expiresAt)))</dd>\
            </dl>
            """
        if let token, approval.status == .pending, approval.approverTokenHash == SecretToken.hash(token) {
            body += """
                <form method="post" action="/approvals/\(id)/decision">\
                <input type="hidden" name="t" value="\(HTML.escape(token))">\
                <label>Note (optional) <input name="note" maxlength="500"></label>\
                <button id="approve" name="decision" value="approve">Approve</button> \
                <button id="deny" name="decision" value="deny">Deny</button>\
                </form>
                """
        } else if approval.status == .pending {
            body += "<p>Only the person the app sent an approver link to can decide this call.</p>"
        }
        return HostedPage().response(title: "Approve a call", body: body, status: status, isHTTPS: request.application.alterConfiguration.isHTTPS)
    }
}
