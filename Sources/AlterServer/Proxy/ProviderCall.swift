import AsyncHTTPClient
import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOHTTP1
import Vapor

/// One call to a provider API made by the vault with a grant's token, for every surface
/// that proxies (`POST /v1/request`, the SDK's `/sdk/proxy`): the method and headers are
/// checked, the grant resolved, the URL proven to be on the provider's API hosts, the token
/// injected (refreshed first when near expiry, and once more if the provider answers 401),
/// and the call audited. The token never leaves the vault.
struct ProviderCall {
    var method: String
    var url: String
    var headers: [String: String]
    var body: ByteBuffer?
    var reference: GrantResolver.Reference
    /// The app's stated reason, kept in the audit entry.
    var reason: String? = nil

    struct Sent {
        let upstream: HTTPClientResponse
        let grantID: UUID
        let duration: Duration
        /// When the whole upstream call, body included, must be over (`upstreamTimeout`
        /// after it was sent): readers of `upstream.body` stop there (security review F8).
        let deadline: NIODeadline

        /// The provider's whole body, read before `deadline`.
        func body(upTo maxBytes: Int) async throws -> ByteBuffer {
            let upstream = self.upstream
            do {
                return try await withDeadline(deadline) { try await upstream.body.collect(upTo: maxBytes) }
            } catch is NIOTooManyBytesError {
                throw APIError(.bodyTooLarge, "The provider's response is over \(maxBytes / 1024 / 1024) MiB.")
            } catch let error as HTTPClientError where error == .deadlineExceeded {
                throw APIError(.upstreamTimeout, "The provider API did not answer in time.")
            }
        }
    }

    static let upstreamTimeout: TimeAmount = .seconds(30)

    func validate() throws {
        guard ProxyRequest.methods.contains(method.uppercased()) else {
            throw APIError.invalidRequest("method must be one of \(ProxyRequest.methods.sorted().joined(separator: ", ")).")
        }
    }

    /// Sends with a grant the caller already resolved (with `GrantResolver`).
    func send(with grant: GrantRecord, request: Request) async throws -> Sent {
        try validate()
        let method = self.method.uppercased()
        let headers = try forwardableHeaders()
        let grantID = grant.id
        guard let provider = try await request.application.providerCatalog.provider(of: grant, on: request.database)
        else { throw GrantResolver.notFound }
        let target = try await Self.target(url, for: grant, provider: provider, request: request)
        // The provider's token header is the vault's to set, whatever its name.
        let auth = provider.apiAuthorization("")
        let forwarded = headers.filter { $0.0.lowercased() != auth.name.lowercased() }

        let started = ContinuousClock.now
        let who = RefreshCoordinator.AuditContext(appID: grant.appID, caller: request.alterCaller, agent: request.auditAgent)
        let coordinator = RefreshCoordinator(application: request.application, db: request.database, who: who)
        var (token, current) = try await coordinator.accessToken(for: grant)
        var deadline = NIODeadline.now() + Self.upstreamTimeout
        var upstream = try await Self.send(method, target, headers: forwarded, body: body, credential: .header(provider.apiAuthorization(token)), provider: (provider.id, provider.isCustom), deadline: deadline, request: request)
        if upstream.status == .unauthorized, current.sealedRefreshToken != nil {
            // The provider refused the token early (revoked, clock skew): refresh once and retry.
            // The 401 is relayed as it is unless a new token came of it (then its body is
            // drained, within the call's deadline, and the call made again).
            let refreshed = try await coordinator.accessToken(for: current, rejected: token)
            if refreshed.token != token {
                let rejectedAnswer = upstream
                _ = try? await withDeadline(deadline) { try await rejectedAnswer.body.collect(upTo: 64 * 1024) }
                (token, current) = refreshed
                deadline = NIODeadline.now() + Self.upstreamTimeout
                upstream = try await Self.send(method, target, headers: forwarded, body: body, credential: .header(provider.apiAuthorization(token)), provider: (provider.id, provider.isCustom), deadline: deadline, request: request)
            }
        }
        var event = AuditEntry(
            appID: who.appID, grantID: grantID, action: .proxy, caller: who.caller, agent: who.agent, method: method, host: target.host,
            status: Int(upstream.status.code), at: request.application.clock.now())
        event.reason = reason
        request.application.auditLog.record(event)
        return Sent(upstream: upstream, grantID: grantID, duration: ContinuousClock.now - started, deadline: deadline)
    }

    /// The caller's headers that cross to the provider (`HeaderRules`), or `invalid_request`.
    func forwardableHeaders() throws -> [(String, String)] {
        do {
            return try HeaderRules.forwardable(headers)
        } catch {
            throw APIError.invalidRequest("\(error.description.prefix(1).uppercased())\(error.description.dropFirst()): names must be tokens and values may not contain CR, LF or NUL.")
        }
    }

    /// The checked upstream URL: on the provider's API hosts, and on a public address unless
    /// the provider is configured for private networks.
    static func target(_ url: String, for grant: GrantRecord, provider: CatalogProvider, request: Request) async throws -> ProxyTarget {
        // Only templated hosts ({subdomain}) need the app's provider settings.
        var values = grant.variables ?? [:]
        if provider.apiHosts.contains(where: { $0.utf8.contains(UInt8(ascii: "{")) }) {
            let config = try await ProviderConfig.query(on: request.database).filter(\.$app.$id == grant.appID).filter(\.$provider == grant.provider).first()
            values = (config?.variables ?? [:]).merging(values) { $1 }
        }
        let hosts = provider.apiHosts.compactMap { try? ProviderURLTemplate.resolve($0, provider: provider, values: values) }
        return try await target(url, allowedHosts: hosts, allowsPrivateNetwork: provider.allowsPrivateNetwork, request: request)
    }

    /// The checked upstream URL for any credential: on one of `allowedHosts`, and on a public
    /// address unless private networks are allowed. Nothing is sent, and no token used,
    /// before this passes; the call then connects to the address checked here (the
    /// resolution is cached, see `OutboundHTTP`).
    static func target(_ url: String, allowedHosts hosts: [String], allowsPrivateNetwork: Bool, request: Request) async throws -> ProxyTarget {
        var target: ProxyTarget
        do {
            target = try ProxyTarget(url: url, allowedHosts: hosts)
        } catch {
            throw APIError(.hostNotAllowed, "The URL is refused: \(error.reason).", details: ["allowed_hosts": hosts.joined(separator: " ")])
        }
        target.addressRule = .privateNetwork(allowed: allowsPrivateNetwork)
        do {
            target.destination = try await request.application.proxyHTTP.check(target.url, rule: target.addressRule)
        } catch {
            throw apiError(error)
        }
        return target
    }

    /// A refused address is the caller's to fix (400); a name without an address right now
    /// is the provider's outage (502, retryable).
    static func apiError(_ refusal: OutboundRefusal) -> APIError {
        switch refusal.reason {
        case .addressNotAllowed: APIError(.hostNotAllowed, "The URL is refused: \(refusal.host) resolves to a private or reserved address.")
        case .unresolvable: APIError(.upstreamUnreachable, "The provider API could not be reached: \(refusal.host) could not be resolved.")
        case .invalidURL: APIError(.hostNotAllowed, "The URL is refused: it has no host.")
        }
    }

    static func send(
        _ method: String, _ target: ProxyTarget, headers: [(String, String)], body: ByteBuffer?,
        credential: CredentialInjection, provider: (id: String, isCustom: Bool), deadline: NIODeadline, request: Request
    ) async throws -> HTTPClientResponse {
        var upstream = HTTPClientRequest(url: credential.url(for: target))
        upstream.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { upstream.headers.add(name: name, value: value) }
        for (name, value) in credential.headers { upstream.headers.replaceOrAdd(name: name, value: value) }
        if let body { upstream.body = .bytes(body) }
        let started = ContinuousClock.now
        do {
            let proxy = request.application.proxyHTTP
            let response: HTTPClientResponse
            // `credential.url(for:)` changes only the query, so the host is the one checked.
            if let destination = target.destination {
                response = try await proxy.execute(upstream, to: destination, deadline: deadline)
            } else {
                response = try await proxy.execute(upstream, rule: target.addressRule, deadline: deadline)
            }
            AlterMetrics.upstreamCall(provider: provider.id, custom: provider.isCustom, duration: ContinuousClock.now - started)
            return response
        } catch let refusal as OutboundRefusal {
            throw apiError(refusal)
        } catch let error as HTTPClientError where error.isTimeout {
            AlterMetrics.upstreamError(provider: provider.id, custom: provider.isCustom, .timeout)
            throw APIError(.upstreamTimeout, "The provider API did not answer in time.")
        } catch {
            // The error names the transport's reason (refused, reset, TLS), never the request's URL or headers.
            request.logger.warning("upstream call failed", metadata: ["provider": .string(provider.id), "error": .string(String(describing: error))])
            AlterMetrics.upstreamError(provider: provider.id, custom: provider.isCustom, .unreachable)
            throw APIError(.upstreamUnreachable, "The provider API could not be reached.")
        }
    }

}
