import Fluent
import FluentKit
import Foundation
import Vapor

/// `POST /sdk/oauth/audit/api-call`: the SDK's report of a provider call it made itself
/// (`app.request`), into the same audit log as the vault's own calls, under the same rule:
/// method, host, status, latency, the app's `reason` and `context`, the caller. The URL's
/// path and query, headers and bodies are dropped here: they can carry personal data and
/// tokens, and the audit log never holds either.
struct SDKAuditController: RouteCollection {
    struct APICallReport: Decodable {
        var grantID: String
        var method: String
        var url: String
        var responseStatus: Int?
        var latencyMS: Double?
        var reason: String?
        var context: [String: String]?

        enum CodingKeys: String, CodingKey {
            case method, url, reason, context
            case grantID = "grant_id"
            case responseStatus = "response_status"
            case latencyMS = "latency_ms"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.sdkPost("oauth", "audit", "api-call", use: apiCall)
    }

    func apiCall(request: Request) async throws -> Response {
        let report = try request.content.decode(APICallReport.self)
        // Only the app's own grants (OAuth or managed-secret); a report about an unknown id
        // is refused, not stored.
        let grantID: UUID
        switch try await SDKGrantReference(grantID: report.grantID).resolveCredential(request) {
        case .oauth(let grant): grantID = grant.id
        case .secret(let grant, _): grantID = try grant.requireID()
        }
        var event = AuditEntry(
            appID: try request.caller.app.requireID(), grantID: grantID, action: .apiCall, caller: request.alterCaller, agent: nil,
            method: String(report.method.uppercased().prefix(16)), host: URLComponents(string: report.url)?.host.map { String($0.prefix(255)) },
            status: report.responseStatus, at: request.application.clock.now())
        event.latencyMS = report.latencyMS.map { Int($0.rounded()) }
        event.reason = report.reason.map { String($0.prefix(AuditEvent.maxReasonLength)) }
        if let context = report.context, context.count <= 20 {
            event.context = context.reduce(into: [:]) { $0[String($1.key.prefix(64))] = String($1.value.prefix(512)) }
        }
        request.application.auditLog.record(event)
        return Response(status: .noContent)
    }
}
