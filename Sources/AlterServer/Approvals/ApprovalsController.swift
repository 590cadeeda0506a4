import Fluent
import FluentKit
import Foundation
import Vapor

/// `/v1/approvals`: an app's held calls, with its app key (agent keys are refused, so an
/// agent cannot fetch a link to approve its own call). `POST /v1/approvals/{id}/approver-link`
/// makes the one-time link the app sends to the person who decides (the grant's end user):
/// the approver is whoever the app gives that link to.
struct ApprovalsController: RouteCollection {
    struct Item: Content {
        var approvalID: String
        var status: String
        var ruleID: String
        var grantID: String
        var method: String
        var url: String
        var reason: String?
        var caller: String?
        var createdAt: Date
        var expiresAt: Date
        var decidedAt: Date?
        var executedAt: Date?
        var executionError: String?
        var approvalURL: String

        enum CodingKeys: String, CodingKey {
            case status, method, url, reason, caller
            case approvalID = "approval_id"
            case ruleID = "rule_id"
            case grantID = "grant_id"
            case createdAt = "created_at"
            case expiresAt = "expires_at"
            case decidedAt = "decided_at"
            case executedAt = "executed_at"
            case executionError = "execution_error"
            case approvalURL = "approval_url"
        }

        init(_ approval: Approval, publicURL: String) throws {
            let id = try approval.requireID()
            approvalID = id.lowercasedString
            status = approval.status.rawValue
            ruleID = approval.ruleID.lowercasedString
            grantID = approval.credentialID.lowercasedString
            method = approval.method
            url = approval.url
            reason = approval.reason
            caller = approval.caller
            createdAt = approval.createdAt
            expiresAt = approval.expiresAt
            decidedAt = approval.decidedAt
            executedAt = approval.executedAt
            executionError = approval.executionError
            approvalURL = Approvals.url(of: id, publicURL: publicURL)
        }
    }

    struct List: Content {
        var approvals: [Item]
    }

    struct Link: Content {
        var approverURL: String
        var expiresAt: Date

        enum CodingKeys: String, CodingKey {
            case approverURL = "approver_url"
            case expiresAt = "expires_at"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        let approvals = routes.grouped(AppKeyAuthenticator()).grouped("v1", "approvals")
        approvals.get(use: list)
        approvals.get(":approval", use: show)
        approvals.post(":approval", "approver-link", use: link)
    }

    func list(request: Request) async throws -> List {
        let appID = try request.authenticatedApp.app.requireID()
        var query = Approval.query(on: request.db).filter(\.$app.$id == appID).sort(\.$createdAt, .descending).limit(200)
        if let status = try request.query.get(String?.self, at: "status") {
            guard let value = Approval.Status(rawValue: status) else { throw APIError.invalidRequest("status must be pending, executing, denied, expired, executed or failed.") }
            query = query.filter(\.$status == value)
        }
        var items: [Item] = []
        for approval in try await query.all() {
            items.append(try Item(try await Approvals.expireIfDue(approval, request: request), publicURL: request.application.alterConfiguration.publicURL))
        }
        return List(approvals: items)
    }

    func show(request: Request) async throws -> Item {
        let approval = try await Approvals.find(request.parameters.get("approval") ?? "", appID: try request.authenticatedApp.app.requireID(), request: request)
        return try Item(approval, publicURL: request.application.alterConfiguration.publicURL)
    }

    func link(request: Request) async throws -> Response {
        let approval = try await Approvals.find(request.parameters.get("approval") ?? "", appID: try request.authenticatedApp.app.requireID(), request: request)
        try await ApprovalExecution.checkAllowed(.link, for: approval, on: request.db)
        let made = try await Approvals.approverLink(for: approval, request: request)
        let response = Response(status: .created)
        try response.content.encode(Link(approverURL: made.url, expiresAt: made.expiresAt))
        response.headers.cacheControl = .init(noStore: true)
        return response
    }
}
