import AsyncHTTPClient
import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Vapor

/// `POST /v1/request`: calls a provider API with a grant's token (the seeds' `vault.request`).
struct ProxyController: RouteCollection {
    static let maxBodyBytes = 10 * 1024 * 1024
    static let upstreamTimeout: TimeAmount = .seconds(30)

    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(AppKeyAuthenticator()).on(.POST, "v1", "request", body: .collect(maxSize: "15mb"), use: proxy)
    }

    func proxy(request: Request) async throws -> Response {
        let app = try request.authenticatedApp.app
        let call = try request.content.decode(ProxyRequest.self)
        let method = call.method.uppercased()
        guard ProxyRequest.methods.contains(method) else { throw APIError.invalidRequest("method must be one of \(ProxyRequest.methods.sorted().joined(separator: ", ")).") }
        let headers: [(String, String)]
        do {
            headers = try HeaderRules.forwardable(call.headers ?? [:])
        } catch {
            throw APIError.invalidRequest("\(error.description.prefix(1).uppercased())\(error.description.dropFirst()): names must be tokens and values may not contain CR, LF or NUL.")
        }
        let body = try Self.body(of: call)
        let grant = try await GrantResolver(request: request, app: app).resolve(call.reference)
        let grantID = try grant.requireID()
        guard let provider = try await request.application.providerCatalog.provider(grant.provider, forApp: grant.$app.id, on: request.db)
        else { throw GrantResolver.notFound }
        let target = try await Self.target(call.url, for: grant, provider: provider, request: request)
        // The provider's token header is the vault's to set, whatever its name.
        let auth = provider.apiAuthorization("")
        let forwarded = headers.filter { $0.0.lowercased() != auth.name.lowercased() }

        let who = RefreshCoordinator.AuditContext(appID: try app.requireID(), caller: request.alterCaller, agent: call.agent)
        let coordinator = RefreshCoordinator(application: request.application, db: request.db, who: who)
        var (token, current) = try await coordinator.accessToken(for: grant)
        var upstream = try await Self.send(method, target, headers: forwarded, body: body, authorization: provider.apiAuthorization(token), request: request)
        if upstream.status == .unauthorized, current.sealedRefreshToken != nil {
            // The provider refused the token early (revoked, clock skew): refresh once and retry.
            _ = try? await upstream.body.collect(upTo: 64 * 1024)
            let refreshed = try await coordinator.accessToken(for: current, rejected: token)
            if refreshed.token != token {
                (token, current) = refreshed
                upstream = try await Self.send(method, target, headers: forwarded, body: body, authorization: provider.apiAuthorization(token), request: request)
            }
        }
        await request.application.auditLog.record(AuditEvent(
            appID: who.appID, grantID: grantID, action: .proxy, caller: who.caller, agent: who.agent, method: method, host: target.host,
            status: Int(upstream.status.code), at: request.application.clock.now()))
        return try Self.relay(upstream, grantID: grantID)
    }

    static func body(of call: ProxyRequest) throws -> ByteBuffer? {
        if let text = call.body {
            guard text.utf8.count <= maxBodyBytes else { throw APIError(.bodyTooLarge, "The request body is over 10 MiB.") }
            return ByteBuffer(string: text)
        }
        if let encoded = call.bodyBase64 {
            guard let data = Data(base64Encoded: encoded) else { throw APIError.invalidRequest("body_base64 is not valid base64.") }
            guard data.count <= maxBodyBytes else { throw APIError(.bodyTooLarge, "The request body is over 10 MiB.") }
            return ByteBuffer(data: data)
        }
        return nil
    }

    /// The checked upstream URL: on the provider's API hosts, and on a public address unless
    /// the provider is configured for private networks.
    static func target(_ url: String, for grant: Grant, provider: CatalogProvider, request: Request) async throws -> ProxyTarget {
        // Only templated hosts ({subdomain}) need the app's provider settings.
        var values = grant.variables ?? [:]
        if provider.apiHosts.contains(where: { $0.contains("{") }) {
            let config = try await ProviderConfig.query(on: request.db).filter(\.$app.$id == grant.$app.id).filter(\.$provider == grant.provider).first()
            values = (config?.variables ?? [:]).merging(values) { $1 }
        }
        let hosts = provider.apiHosts.compactMap { try? ProviderURLTemplate.resolve($0, provider: provider, values: values) }
        let target: ProxyTarget
        do {
            target = try ProxyTarget(url: url, allowedHosts: hosts)
        } catch {
            throw APIError(.hostNotAllowed, "The URL is refused: \(error.reason).", details: ["allowed_hosts": hosts.joined(separator: " ")])
        }
        if !provider.allowsPrivateNetwork {
            let port = target.port ?? ProxyTarget.defaultPort(target.scheme)
            let isPublic = try await request.application.threadPool.runIfActive { NetworkPolicy.isPublic(host: target.host, port: port) }
            guard isPublic else {
                throw APIError(.hostNotAllowed, "The URL is refused: \(target.host) resolves to a private or reserved address.")
            }
        }
        return target
    }

    static func send(
        _ method: String, _ target: ProxyTarget, headers: [(String, String)], body: ByteBuffer?,
        authorization: (name: String, value: String), request: Request
    ) async throws -> HTTPClientResponse {
        var upstream = HTTPClientRequest(url: target.url)
        upstream.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { upstream.headers.add(name: name, value: value) }
        upstream.headers.replaceOrAdd(name: authorization.name, value: authorization.value)
        if let body { upstream.body = .bytes(body) }
        do {
            return try await request.application.providerHTTP.execute(upstream, timeout: upstreamTimeout)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw APIError(.upstreamTimeout, "The provider API did not answer in time.")
        } catch {
            throw APIError(.upstreamUnreachable, "The provider API could not be reached.")
        }
    }

    /// Streams the provider's answer back, minus cookies and hop-by-hop headers.
    static func relay(_ upstream: HTTPClientResponse, grantID: UUID) throws -> Response {
        if let length = upstream.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBodyBytes {
            throw APIError(.bodyTooLarge, "The provider's response is over 10 MiB.")
        }
        var headers = HTTPHeaders()
        for (name, value) in upstream.headers where !HeaderRules.isDroppedFromUpstream(name) {
            headers.add(name: name, value: value)
        }
        headers.replaceOrAdd(name: "Alter-Source", value: "upstream")
        headers.replaceOrAdd(name: "Alter-Grant-Id", value: grantID.uuidString.lowercased())
        let stream = upstream.body
        let body = Response.Body(asyncStream: { writer in
            var total = 0
            do {
                for try await chunk in stream {
                    total += chunk.readableBytes
                    guard total <= maxBodyBytes else { throw APIError(.bodyTooLarge, "The provider's response is over 10 MiB.") }
                    try await writer.writeBuffer(chunk)
                }
                try await writer.write(.end)
            } catch {
                try await writer.write(.error(error))
            }
        })
        return Response(status: upstream.status, headers: headers, body: body)
    }
}
