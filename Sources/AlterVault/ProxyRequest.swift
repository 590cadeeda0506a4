import Foundation

/// The HTTP method of a proxied request.
///
/// Its own type rather than NIO's `HTTPMethod`, so Vapor, Hummingbird and plain NIO apps
/// all write `.GET` without importing anything else.
public struct RequestMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The method name as sent, e.g. `GET`.
    public let rawValue: String

    /// Any method name; the vault rejects unknown ones with `invalid_request`.
    ///
    /// - Parameters:
    ///   - rawValue: The method name, e.g. `PROPFIND`.
    public init(rawValue: String) { self.rawValue = rawValue.uppercased() }

    /// The method name.
    public var description: String { rawValue }

    /// `GET`.
    public static let GET = RequestMethod(rawValue: "GET")
    /// `POST`.
    public static let POST = RequestMethod(rawValue: "POST")
    /// `PUT`.
    public static let PUT = RequestMethod(rawValue: "PUT")
    /// `PATCH`.
    public static let PATCH = RequestMethod(rawValue: "PATCH")
    /// `DELETE`.
    public static let DELETE = RequestMethod(rawValue: "DELETE")
    /// `HEAD`.
    public static let HEAD = RequestMethod(rawValue: "HEAD")
    /// `OPTIONS`.
    public static let OPTIONS = RequestMethod(rawValue: "OPTIONS")
}

/// `POST /v1/request` body (docs/api.md); nil fields are left out.
struct ProxyRequestBody: Encodable {
    var method: String
    var url: String
    var grantID: String?
    var userToken: String?
    var provider: String?
    var accountIdentifier: String?
    var headers: [String: String]?
    var body: String?
    var bodyBase64: String?
    var agent: String?

    enum CodingKeys: String, CodingKey {
        case method, url, headers, body, agent, provider
        case grantID = "grant_id"
        case userToken = "user_token"
        case accountIdentifier = "account_identifier"
        case bodyBase64 = "body_base64"
    }

    /// UTF-8 bodies travel as `body`, anything else as `body_base64`.
    mutating func setBody(_ data: Data?) {
        guard let data else { return }
        if let text = String(data: data, encoding: .utf8) {
            body = text
        } else {
            bodyBase64 = data.base64EncodedString()
        }
    }
}

extension AlterVault {
    /// Calls a provider API on behalf of a user, with the grant the widget delivered.
    ///
    /// The vault adds the user's access token (refreshing it first when needed) and forwards
    /// the request, if the URL is on the provider's API allow-list. The provider's answer comes
    /// back as is: a provider `404` or `500` is a ``ProxyResponse``, not an error. Only the
    /// vault's own refusals throw.
    ///
    /// ```swift
    /// let response = try await vault.request(.GET, "https://www.googleapis.com/calendar/v3/users/me/calendarList", grantID: grantID)
    /// guard response.status == 200 else { … }
    /// let calendars = try response.json(CalendarList.self)
    /// ```
    ///
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - url: The provider API URL, absolute.
    ///   - grantID: The `grant_id` from the widget's `onSuccess`.
    ///   - headers: Headers to send. `Authorization`, `Cookie`, `Host`, `Forwarded`,
    ///     `X-Forwarded-*` and `Proxy-*` are dropped by the vault.
    ///   - body: The request body, if any.
    ///   - agent: The agent making the call; the grant must be delegated to it.
    /// - Throws: ``CredentialRevokedError`` when the user must connect again;
    ///   ``AlterVaultError`` (`grant_not_found`, `host_not_allowed`, `agent_not_delegated`,
    ///   `refresh_failed`, `upstream_unreachable`, `upstream_timeout`, `body_too_large`, …);
    ///   ``AlterVaultNetworkError`` when the vault cannot be reached.
    /// - Returns: The provider's status, headers and body.
    public func request(
        _ method: RequestMethod,
        _ url: String,
        grantID: String,
        headers: [String: String] = [:],
        body: Data? = nil,
        agent: String? = nil
    ) async throws -> ProxyResponse {
        var wire = ProxyRequestBody(method: method.rawValue, url: url, grantID: grantID, headers: headers.isEmpty ? nil : headers, agent: agent)
        wire.setBody(body)
        return try await proxy(wire, grantID: grantID)
    }

    /// Calls a provider API on behalf of the user a JWT names, for apps with JWT identity.
    ///
    /// The vault finds the user's grant for `provider` from the token's `sub`, so your app
    /// need not store grant ids. When the user connected several accounts at that provider,
    /// pass `accountIdentifier`, or the call fails with `ambiguous_grant` and
    /// `details["accounts"]` lists them.
    ///
    /// ```swift
    /// let response = try await vault.request(.GET, "https://api.github.com/user/repos",
    ///                                        userToken: request.headers.bearerAuthorization!.token, provider: "github")
    /// ```
    ///
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - url: The provider API URL, absolute.
    ///   - userToken: The user's JWT, verified with the app's identity settings.
    ///   - provider: The provider id, e.g. `google`.
    ///   - accountIdentifier: Which of the user's accounts at the provider, when several.
    ///   - headers: Headers to send (the same are dropped as for the grant variant).
    ///   - body: The request body, if any.
    ///   - agent: The agent making the call; the grant must be delegated to it.
    /// - Throws: ``CredentialRevokedError``, ``AlterVaultError`` (also `invalid_user_token`,
    ///   `identity_not_configured`, `ambiguous_grant`) or ``AlterVaultNetworkError``.
    /// - Returns: The provider's status, headers and body.
    public func request(
        _ method: RequestMethod,
        _ url: String,
        userToken: String,
        provider: String,
        accountIdentifier: String? = nil,
        headers: [String: String] = [:],
        body: Data? = nil,
        agent: String? = nil
    ) async throws -> ProxyResponse {
        var wire = ProxyRequestBody(
            method: method.rawValue, url: url, userToken: userToken, provider: provider, accountIdentifier: accountIdentifier,
            headers: headers.isEmpty ? nil : headers, agent: agent)
        wire.setBody(body)
        return try await proxy(wire, grantID: nil)
    }

    /// Only a response marked `Alter-Source: upstream` is the provider's, whatever its
    /// status; anything else is the vault's own error, and a bare 2xx without the mark (a
    /// proxy in between, a redirect some client followed) is `unexpected_response`.
    private func proxy(_ wire: ProxyRequestBody, grantID: String?) async throws -> ProxyResponse {
        let answer = try await send(.POST, "/v1/request", json: try WireCoding.encoder().encode(wire))
        guard answer.source == "upstream" else { throw Self.error(from: answer, grantID: grantID) }
        return ProxyResponse(answer, bodyDecoded: decodesBodies)
    }
}
