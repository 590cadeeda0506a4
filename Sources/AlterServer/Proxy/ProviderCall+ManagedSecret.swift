import Fluent
import FluentKit
import Foundation
import NIOCore
import Vapor

extension ProviderCall {
    /// Managed-secret calls share one metrics label: a slug is the app's own word.
    static let managedSecretMetricsLabel = "managed_secret"

    /// Resolves `reference` among the OAuth and managed-secret grants `caller` may use, then sends.
    func send(as caller: Caller, request: Request) async throws -> Sent {
        try validate()
        return try await send(with: try await CredentialResolver(request: request, caller: caller).resolve(reference), request: request)
    }

    /// Sends with a credential the caller already resolved (with `CredentialResolver`), once
    /// the app's policy allows it (a call held for approval throws `ApprovalRequired`).
    func send(with credential: VaultCredential, request: Request) async throws -> Sent {
        try validate()
        try await PolicyCheck.enforce(credential.use(method: method, url: url, surface: .proxy, request: request), request: request)
        return try await send(approved: credential, request: request)
    }

    /// Sends without the policy check: only for a call a person approved (`ApprovalExecution`),
    /// whose rules were evaluated when it was asked.
    func send(approved credential: VaultCredential, request: Request) async throws -> Sent {
        switch credential {
        case .oauth(let grant): try await send(with: grant, request: request)
        case .secret(let grant, let secret): try await send(with: grant, secret: secret, request: request)
        }
    }

    /// The call with a managed secret: the URL must be on the secret's allowed hosts (checked
    /// before the value is even opened), the value injected where its template says, the
    /// caller's headers of the same names dropped, and the call audited as `proxy`.
    func send(with grant: SecretGrant, secret: ManagedSecret, request: Request) async throws -> Sent {
        try validate()
        let method = self.method.uppercased()
        let injection = secret.injection
        let forwarded = try forwardableHeaders().filter { !injection.headerNames.contains($0.0.lowercased()) }
        let target = try await Self.target(url, allowedHosts: secret.allowedHosts, allowsPrivateNetwork: secret.allowsPrivateNetwork, request: request)
        let filled = injection.fill(try secret.value(using: request.application.sealer))
        let started = ContinuousClock.now
        let deadline = NIODeadline.now() + Self.upstreamTimeout
        let upstream = try await Self.send(
            method, target, headers: forwarded, body: body, credential: .init(headers: filled.headers, queryItems: filled.queryItems),
            provider: (Self.managedSecretMetricsLabel, false), deadline: deadline, request: request)
        let grantID = try grant.requireID()
        let now = request.application.clock.now()
        var event = AuditEntry(
            appID: grant.$app.id, grantID: grantID, action: .proxy, caller: request.alterCaller, agent: request.auditAgent, method: method,
            host: target.host, status: Int(upstream.status.code), at: now)
        event.reason = reason
        request.application.auditLog.record(event)
        try await SecretGrant.query(on: request.db).filter(\.$id == grantID).set(\.$lastUsedAt, to: now).update()
        return Sent(upstream: upstream, grantID: grantID, duration: ContinuousClock.now - started, deadline: deadline)
    }
}
