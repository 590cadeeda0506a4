import Fluent
import FluentKit
import Foundation
import Vapor

/// `GET /v1/audit`: the calling app's audit trail, newest first.
struct AuditController: RouteCollection {
    struct Entry: Content {
        var id: UUID
        var at: Date
        var action: AuditEvent.Action
        var grantID: String?
        var caller: String?
        var agent: String?
        var method: String?
        var host: String?
        var status: Int?
        var latencyMS: Int?
        var reason: String?
        var context: [String: String]?

        enum CodingKeys: String, CodingKey {
            case id, at, action, caller, agent, method, host, status, reason, context
            case grantID = "grant_id"
            case latencyMS = "latency_ms"
        }
    }

    struct Page: Content {
        var events: [Entry]
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(AppKeyAuthenticator()).get("v1", "audit", use: list)
    }

    func list(request: Request) async throws -> Page {
        let app = try request.authenticatedApp.app
        try request.refuseUnknownQueryParameters(["grant_id", "limit"])
        await request.application.auditLog.flush()
        var limit = 100
        if let raw = request.query[String.self, at: "limit"] {
            guard let parsed = Int(raw), (1...1000).contains(parsed) else { throw APIError.invalidRequest("limit must be an integer from 1 to 1000.") }
            limit = parsed
        }
        var query = AuditQuery(appID: try app.requireID())
        if let raw = request.query[String.self, at: "grant_id"] {
            guard let grantID = UUID(text: raw) else { throw APIError.invalidRequest("grant_id is not a grant id.") }
            query.grantID = grantID
        }
        let events = try await query.events(limit: limit, on: request.db)
        return Page(events: try events.map {
            Entry(id: try $0.requireID(), at: $0.at, action: $0.action, grantID: $0.grantID?.lowercasedString, caller: $0.caller,
                agent: $0.agent, method: $0.method, host: $0.host, status: $0.status, latencyMS: $0.latencyMS, reason: $0.reason,
                context: $0.context)
        })
    }
}

extension Request {
    /// Which part of the app made the call (≤ 100 printable characters): our SDK's
    /// `Alter-Caller`, or the official SDK's (signed) `X-Alter-Caller`.
    var alterCaller: String? {
        guard let value = headers.first(name: "Alter-Caller") ?? headers.first(name: "X-Alter-Caller"), !value.isEmpty else { return nil }
        return String(value.prefix(100).filter { $0.isASCII && !$0.isNewline && $0 != "\t" })
    }
}
