import Fluent
import FluentKit
import Foundation
import Vapor

/// Handing a managed secret to the official SDK for its own call (`request()` → `/sdk/token`):
/// only for a URL on the secret's allowed hosts (else `host_not_allowed`, and nothing is
/// handed out), with the injection fields the SDK applies; audited as `token`.
enum SecretTokens {
    static func issue(_ grant: SecretGrant, secret: ManagedSecret, method: String?, url: String?, reason: String?, request: Request) async throws -> SecretInjection.ForSDK {
        guard let url else { throw APIError.invalidRequest("request.url is required: a managed secret is handed out only for a call to one of its allowed hosts.") }
        let target: ProxyTarget
        do {
            target = try ProxyTarget(url: url, allowedHosts: secret.allowedHosts)
        } catch {
            throw APIError(.hostNotAllowed, "The URL is refused: \(error.reason).", details: ["allowed_hosts": secret.allowedHosts.joined(separator: " ")])
        }
        try await PolicyCheck.enforce(VaultCredential.secret(grant, secret).use(method: method, url: url, surface: .token, request: request), request: request)
        let issued = secret.injection.forSDK(try secret.value(using: request.application.sealer))
        let grantID = try grant.requireID()
        let now = request.application.clock.now()
        var event = AuditEntry(
            appID: grant.$app.id, grantID: grantID, action: .token, caller: request.alterCaller, agent: request.auditAgent,
            method: method.map { String($0.uppercased().prefix(16)) }, host: target.host, status: 200, at: now)
        event.reason = reason.map { String($0.prefix(AuditEvent.maxReasonLength)) }
        request.application.auditLog.record(event)
        try await SecretGrant.query(on: request.db).filter(\.$id == grantID).set(\.$lastUsedAt, to: now).update()
        return issued
    }
}
