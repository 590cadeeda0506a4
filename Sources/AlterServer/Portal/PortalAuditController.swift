import Fluent
import Vapor

/// The app's audit trail (`AuditQuery`, as `GET /v1/audit`): filters, paging, CSV export.
struct PortalAuditController {
    static let pageSize = 50
    static let maxExportRows = 10_000

    func register(_ app: any RoutesBuilder) {
        app.get("audit", use: list)
        app.get("audit.csv", use: export)
    }

    private func query(_ request: Request, appID: UUID) -> AuditQuery {
        var query = AuditQuery(appID: appID)
        query.action = request.query[String.self, at: "action"].flatMap(AuditEvent.Action.init(rawValue:))
        query.grantID = request.query[String.self, at: "grant"].flatMap(UUID.init(uuidString:))
        query.caller = request.query[String.self, at: "caller"].flatMap { $0.isEmpty ? nil : $0 }
        return query
    }

    func list(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        await request.application.auditLog.flush()
        let filter = query(request, appID: appID)
        let offset = max(0, request.query[Int.self, at: "offset"] ?? 0)
        let events = try await filter.events(limit: Self.pageSize, offset: offset, on: request.db)
        let base = PortalPage.Section.audit.path(appID)
        var body = "<form method=\"get\" action=\"\(base)\" class=\"filters\">"
            + "<div><label for=\"f-action\">Action</label><select id=\"f-action\" name=\"action\"><option value=\"\">any</option>"
            + AuditEvent.Action.allCases.map { "<option\($0 == filter.action ? " selected" : "")>\($0.rawValue)</option>" }.joined() + "</select></div>"
            + "<div><label for=\"f-grant\">Grant id</label><input id=\"f-grant\" name=\"grant\" value=\"\(HTML.escape(filter.grantID?.lowercasedString ?? ""))\"></div>"
            + "<div><label for=\"f-caller\">Caller</label><input id=\"f-caller\" name=\"caller\" value=\"\(HTML.escape(filter.caller ?? ""))\"></div>"
            + "<button type=\"submit\">Filter</button></form>"
        var export = URLComponents()
        export.queryItems = [("action", filter.action?.rawValue), ("grant", filter.grantID?.lowercasedString), ("caller", filter.caller)]
            .compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        body += "<p><a id=\"export-csv\" href=\"\(HTML.escape(base + ".csv" + (export.percentEncodedQuery.map { "?" + $0 } ?? "")))\" download>Export CSV</a> (these filters, up to \(Self.maxExportRows) rows)</p>"
        body += Self.table(events) + PortalGrantsController.pager(request, offset: offset, count: events.count, total: nil, pageSize: Self.pageSize)
        return PortalPage().response(request, title: "Audit", body: body, app: .init(app: app, section: .audit))
    }

    static func table(_ events: [AuditEvent]) -> String {
        var html = "<table><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Action</th><th scope=\"col\">Grant</th><th scope=\"col\">Caller</th><th scope=\"col\">Call</th><th scope=\"col\">Status</th><th scope=\"col\">Reason</th></tr></thead><tbody>"
        for event in events {
            let call = [event.method, event.host].compactMap { $0 }.joined(separator: " ")
            html += "<tr><td>\(PortalForm.date(event.at))</td><td>\(event.action.rawValue)</td><td><code>\(event.grantID.map { String($0.lowercasedString.prefix(8)) } ?? "—")</code></td>"
                + "<td>\(HTML.escape(event.caller ?? event.agent ?? "—"))</td><td>\(HTML.escape(call.isEmpty ? "—" : call))</td>"
                + "<td>\(event.status.map(String.init) ?? "—")</td><td>\(HTML.escape(event.reason ?? ""))</td></tr>"
        }
        if events.isEmpty { html += "<tr><td colspan=\"7\">No entries.</td></tr>" }
        return html + "</tbody></table>"
    }

    func export(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        await request.application.auditLog.flush()
        let events = try await query(request, appID: appID).events(limit: Self.maxExportRows, on: request.db)
        var csv = "id,at,action,grant_id,caller,agent,method,host,status,latency_ms,reason\r\n"
        let formatter = ISO8601DateFormatter()
        for event in events {
            let fields: [String?] = [
                event.id?.lowercasedString, formatter.string(from: event.at), event.action.rawValue, event.grantID?.lowercasedString,
                event.caller, event.agent, event.method, event.host, event.status.map(String.init), event.latencyMS.map(String.init), event.reason,
            ]
            csv += fields.map { CSV.field($0 ?? "") }.joined(separator: ",") + "\r\n"
        }
        let response = Response(status: .ok, body: .init(string: csv))
        response.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"audit-\(appID.lowercasedString).csv\"")
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        return response
    }
}

/// RFC 4180 fields, and no spreadsheet formulas: a value a spreadsheet would evaluate
/// (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'` (OWASP, CSV injection).
enum CSV {
    static func field(_ value: String) -> String {
        var value = value
        if let first = value.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
