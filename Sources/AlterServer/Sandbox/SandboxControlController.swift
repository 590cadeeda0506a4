import Fluent
import FluentKit
import Foundation
import Vapor

/// `GET` and `POST /sandbox/control`: the switches that make the sandbox misbehave like a
/// real provider, and the counters tests read.
///
/// Unauthenticated on purpose: the sandbox exists only when `sandboxEnabled` is set (demo and
/// tests, never production by default), and it guards no real data; a test or a demo script
/// must be able to flip a switch with one `curl`. But no web page may flip it from a
/// developer's browser: `SandboxControlRequest` refuses form posts and cross-site requests.
struct SandboxControlController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("control", use: show)
        routes.post("control", use: update)
    }

    func show(request: Request) async throws -> Response {
        try Self.respond(with: try await SandboxControl.current(on: request.db))
    }

    func update(request: Request) async throws -> Response {
        let check = SandboxControlRequest(
            contentType: request.headers.first(name: .contentType), origin: request.headers.first(name: .origin),
            fetchSite: request.headers.first(name: "Sec-Fetch-Site"), ownOrigin: SandboxPages.origin(of: request.application.alterConfiguration.publicURL))
        // An Abort keeps its 415 / 403 and answers with the code invalid_request.
        if let refusal = check.refusal { throw Abort(refusal.status, reason: refusal.message) }
        let change = try request.content.decode(SandboxControlChange.self)
        let control = try await SandboxControl.current(on: request.db)
        if change.reset == true { control.resetToDefaults() }
        if let coop = change.coop { control.coop = coop }
        if let error = change.error { control.error = try Self.errorCode(error, field: "error") }
        if let tokenError = change.tokenError { control.tokenError = try Self.errorCode(tokenError, field: "token_error") }
        if let revokeRefresh = change.revokeRefresh { control.revokeRefresh = revokeRefresh }
        if let ttl = change.accessTokenTTL {
            guard (1...86_400).contains(ttl) else { throw APIError.invalidRequest("access_token_ttl must be 1 to 86400 seconds.") }
            control.accessTokenTTL = ttl
        }
        if let slow = change.slowMS {
            guard (0...60_000).contains(slow) else { throw APIError.invalidRequest("slow_ms must be 0 to 60000.") }
            control.slowMS = slow
        }
        try await control.save(on: request.db)
        return try Self.respond(with: control)
    }

    /// An OAuth error code goes into a redirect URL and a JSON body; RFC 6749 §4.1.2.1 allows
    /// printable ASCII, the sandbox asks for the plain `snake_case` every real code uses.
    private static func errorCode(_ value: String?, field: String) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        guard value.count <= 64, value.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            throw APIError.invalidRequest("\(field) must be an OAuth error code such as server_error, or null.")
        }
        return value
    }

    private static func respond(with control: SandboxControl) throws -> Response {
        let response = Response(status: .ok)
        response.headers.cacheControl = .init(noStore: true)
        try response.content.encode(SandboxControlState(control), as: .json)
        return response
    }
}

/// The body of `POST /sandbox/control`: every field optional; `error` and `token_error`
/// distinguish "absent" (unchanged) from `null` (cleared).
struct SandboxControlChange: Decodable {
    var coop: Bool?
    var error: String??
    var tokenError: String??
    var revokeRefresh: Bool?
    var accessTokenTTL: Int?
    var slowMS: Int?
    var reset: Bool?

    enum CodingKeys: String, CodingKey {
        case coop, error, reset
        case tokenError = "token_error"
        case revokeRefresh = "revoke_refresh"
        case accessTokenTTL = "access_token_ttl"
        case slowMS = "slow_ms"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        coop = try container.decodeIfPresent(Bool.self, forKey: .coop)
        error = try Self.clearable(container, .error)
        tokenError = try Self.clearable(container, .tokenError)
        revokeRefresh = try container.decodeIfPresent(Bool.self, forKey: .revokeRefresh)
        accessTokenTTL = try container.decodeIfPresent(Int.self, forKey: .accessTokenTTL)
        slowMS = try container.decodeIfPresent(Int.self, forKey: .slowMS)
        reset = try container.decodeIfPresent(Bool.self, forKey: .reset)
    }

    private static func clearable(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String?? {
        guard container.contains(key) else { return nil }
        return .some(try container.decodeNil(forKey: key) ? nil : try container.decode(String.self, forKey: key))
    }
}

/// The body of both control responses: the switches and the counters.
struct SandboxControlState: Encodable {
    let control: SandboxControl

    init(_ control: SandboxControl) { self.control = control }

    enum CodingKeys: String, CodingKey {
        case coop, error
        case tokenError = "token_error"
        case revokeRefresh = "revoke_refresh"
        case accessTokenTTL = "access_token_ttl"
        case slowMS = "slow_ms"
        case refreshCount = "refresh_count"
        case tokenRequests = "token_requests"
        case apiCalls = "api_calls"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(control.coop, forKey: .coop)
        // `null` rather than a missing key: a cleared switch is visibly cleared.
        try container.encode(control.error, forKey: .error)
        try container.encode(control.tokenError, forKey: .tokenError)
        try container.encode(control.revokeRefresh, forKey: .revokeRefresh)
        try container.encode(control.accessTokenTTL, forKey: .accessTokenTTL)
        try container.encode(control.slowMS, forKey: .slowMS)
        try container.encode(control.refreshCount, forKey: .refreshCount)
        try container.encode(control.tokenRequests, forKey: .tokenRequests)
        try container.encode(control.apiCalls, forKey: .apiCalls)
    }
}
