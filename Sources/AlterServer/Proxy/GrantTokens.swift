import Fluent
import FluentKit
import Foundation
import Vapor

/// Handing a grant's access token to the app that owns it (`POST /v1/grants/{id}/token`,
/// the SDK's `/sdk/token`), for apps that call the provider themselves: refreshed first when
/// near expiry (`RefreshCoordinator`), audited as `token`.
enum GrantTokens {
    struct Issued {
        let accessToken: String
        /// The grant as stored after any refresh (expiry and scopes are current).
        let grant: GrantRecord
    }

    /// - Parameters:
    ///   - method, url: the call the app says it will make (audited as method + host only).
    ///   - reason: the app's stated reason, audited.
    static func issue(_ grant: GrantRecord, method: String? = nil, url: String? = nil, reason: String? = nil, request: Request) async throws -> Issued {
        try await PolicyCheck.enforce(VaultCredential.oauth(grant).use(method: method, url: url, surface: .token, request: request), request: request)
        let who = RefreshCoordinator.AuditContext(appID: grant.appID, caller: request.alterCaller, agent: request.auditAgent)
        let (token, current) = try await RefreshCoordinator(application: request.application, db: request.db, who: who).accessToken(for: grant)
        var event = AuditEntry(
            appID: grant.appID, grantID: grant.id, action: .token, caller: who.caller, agent: who.agent,
            method: method.map { String($0.uppercased().prefix(16)) }, host: url.flatMap { URLComponents(string: $0)?.host },
            status: 200, at: request.application.clock.now())
        event.reason = reason.map { String($0.prefix(AuditEvent.maxReasonLength)) }
        request.application.auditLog.record(event)
        return Issued(accessToken: token, grant: current)
    }
}
