import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import Vapor

/// `POST /sdk/proxy` (`proxy_request`): the vault makes the provider call (`ProviderCall`,
/// the same as `/v1/request`) and answers the SDK's `ApprovalResult`, the provider's status,
/// headers and base64 body. The token never leaves the vault.
struct SDKProxyController: RouteCollection {
    /// Credentials are the vault's to inject; a caller sending one gets 422 (the SDK's rule).
    static let credentialHeaders: Set<String> = ["authorization", "cookie", "x-api-key", "x-amz-security-token", "proxy-authorization"]

    struct Call: Decodable {
        var method: String
        var url: String
        var headers: [String: String]?
        var reason: String?
    }

    /// The SDK's proxy answer; with `approval_id`, its `ApprovalResult` (an approved call's
    /// stored outcome).
    struct Result: Codable {
        var approvalID: String?
        var statusCode: Int
        var headers: [String: String]
        var bodyB64: String
        var bodyTruncated = false
        var durationMS: Int

        enum CodingKeys: String, CodingKey {
            case headers
            case approvalID = "approval_id"
            case statusCode = "status_code"
            case bodyB64 = "body_b64"
            case bodyTruncated = "body_truncated"
            case durationMS = "duration_ms"
        }

        /// Reads the upstream answer (at most `ProxyController.maxBodyBytes`), folding repeated headers.
        static func read(_ sent: ProviderCall.Sent, approvalID: String? = nil) async throws -> Result {
            let bytes = try await sent.body(upTo: ProxyController.maxBodyBytes)
            var headers: [String: String] = [:]
            for (name, value) in sent.upstream.headers where !HeaderRules.isDroppedFromUpstream(name) {
                headers[name.lowercased()] = headers[name.lowercased()].map { $0 + ", " + value } ?? value
            }
            return Result(
                approvalID: approvalID, statusCode: Int(sent.upstream.status.code), headers: headers,
                bodyB64: Data(buffer: bytes).base64EncodedString(),
                durationMS: Int(sent.duration.components.seconds * 1000 + sent.duration.components.attoseconds / 1_000_000_000_000_000))
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.sdkPost("proxy", use: proxy)
    }

    func proxy(request: Request) async throws -> Response {
        let call = try request.content.decode(Call.self)
        let reference = try request.content.decode(SDKGrantReference.self)
        // `body` and `query_params` are any JSON: read them untyped, as sent.
        let raw = request.body.data.flatMap { try? JSONSerialization.jsonObject(with: Data(buffer: $0)) as? [String: Any] } ?? [:]
        if let name = call.headers?.keys.first(where: { Self.credentialHeaders.contains($0.lowercased()) }) {
            throw SDKError(
                status: .unprocessableEntity, code: "credential_header_forbidden",
                message: "The \(name) header is refused: the vault injects the grant's credential itself.")
        }
        var headers = call.headers ?? [:]
        var body: ByteBuffer?
        if let json = raw["body"], !(json is NSNull) {
            body = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
            if !headers.keys.contains(where: { $0.lowercased() == "content-type" }) { headers["Content-Type"] = "application/json" }
        }
        let url = try Self.url(call.url, adding: raw["query_params"] as? [String: Any])
        let credential = try await reference.resolveCredential(request)
        let providerCall = ProviderCall(
            method: call.method, url: url, headers: headers, body: body, reference: .init(),
            reason: call.reason.map { String($0.prefix(AuditEvent.maxReasonLength)) })
        let sent: ProviderCall.Sent
        do {
            sent = try await providerCall.send(with: credential, request: request)
        } catch let held as ApprovalRequired {
            return try await Approvals.hold(held, credentialID: held.grantID, method: call.method, url: url, headers: headers, body: body, reason: providerCall.reason, request: request)
        }
        return try .sdkJSON(try await Result.read(sent))
    }

    /// `url` with `query_params` appended (lists repeat the name, as httpx does).
    static func url(_ url: String, adding parameters: [String: Any]?) throws -> String {
        guard let parameters, !parameters.isEmpty else { return url }
        guard var components = URLComponents(string: url) else { throw APIError.invalidRequest("url is not a URL.") }
        var items = components.queryItems ?? []
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            for element in (value as? [Any]) ?? [value] where !(element is NSNull) {
                items.append(URLQueryItem(name: name, value: "\(element)"))
            }
        }
        components.queryItems = items
        guard let joined = components.string else { throw APIError.invalidRequest("url with query_params is not a URL.") }
        return joined
    }
}
