import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Reads an authorization server's metadata: RFC 8414 (`/.well-known/oauth-authorization-server`)
/// or OpenID Connect Discovery (`/.well-known/openid-configuration`), size-capped and
/// time-limited, never following redirects.
struct ProviderDiscovery: Sendable {
    static let maxBytes = 64 * 1024

    let http: OutboundHTTP
    var timeout: TimeAmount = .seconds(10)

    struct Metadata: Decodable, Equatable, Sendable {
        var issuer: String
        var authorizationEndpoint: String?
        var tokenEndpoint: String?
        var revocationEndpoint: String?
        var userinfoEndpoint: String?
        var responseTypesSupported: [String]?
        var codeChallengeMethodsSupported: [String]?
        var tokenEndpointAuthMethodsSupported: [String]?
        /// RFC 9207 §3: the server puts `iss` on every authorization response.
        var authorizationResponseIssParameterSupported: Bool?

        enum CodingKeys: String, CodingKey {
            case issuer
            case authorizationEndpoint = "authorization_endpoint"
            case tokenEndpoint = "token_endpoint"
            case revocationEndpoint = "revocation_endpoint"
            case userinfoEndpoint = "userinfo_endpoint"
            case responseTypesSupported = "response_types_supported"
            case codeChallengeMethodsSupported = "code_challenge_methods_supported"
            case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
            case authorizationResponseIssParameterSupported = "authorization_response_iss_parameter_supported"
        }
    }

    struct Failure: Error, CustomStringConvertible, Equatable {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let markers = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]

    /// The issuer a metadata URL stands for. RFC 8414 §3.1 puts the issuer's path after the
    /// well-known segment (`/.well-known/oauth-authorization-server/tenant`); OIDC Discovery
    /// §4 and many servers put it before (`/tenant/.well-known/openid-configuration`).
    static func expectedIssuer(for url: String, allowsHTTP: Bool) throws(Failure) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "https" || (allowsHTTP && scheme == "http"), let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil, components.query == nil, components.fragment == nil
        else {
            throw Failure("--discovery-url must be an https URL without user info, query or fragment\(allowsHTTP ? "" : " (http only with --allow-private-network)")")
        }
        let path = components.percentEncodedPath
        guard let marker = markers.first(where: { path.contains($0) }), let range = path.range(of: marker) else {
            throw Failure("--discovery-url must point at /.well-known/oauth-authorization-server or /.well-known/openid-configuration")
        }
        var before = String(path[..<range.lowerBound])
        var after = String(path[range.upperBound...])
        while before.hasSuffix("/") { before.removeLast() }
        while after.hasSuffix("/") { after.removeLast() }
        guard before.isEmpty || after.isEmpty else { throw Failure("--discovery-url has an issuer path both before and after \(marker)") }
        guard after.isEmpty || after.hasPrefix("/") else { throw Failure("--discovery-url must point at \(marker) itself") }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")\(before)\(after)"
    }

    /// Checks a metadata document: RFC 8414 §3.3 — the `issuer` must be identical to the
    /// issuer the URL was built from, or the document is not to be used.
    static func parse(_ data: Data, expectedIssuer: String) throws(Failure) -> Metadata {
        guard let metadata = try? JSONDecoder().decode(Metadata.self, from: data) else {
            throw Failure("the discovery document is not a JSON object with an issuer")
        }
        guard metadata.issuer == expectedIssuer else {
            throw Failure("the discovery document's issuer '\(metadata.issuer.prefix(200))' is not '\(expectedIssuer)' (RFC 8414 §3.3)")
        }
        if let types = metadata.responseTypesSupported, !types.contains("code") {
            throw Failure("the server does not support the authorization code flow (response_types_supported has no 'code')")
        }
        return metadata
    }

    func fetch(_ url: String, allowsPrivateNetwork: Bool) async throws(Failure) -> Metadata {
        let issuer = try Self.expectedIssuer(for: url, allowsHTTP: allowsPrivateNetwork)
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: ProviderHTTP.userAgent)
        let status: UInt
        let body: ByteBuffer
        do {
            let response = try await http.collect(request, rule: .privateNetwork(allowed: allowsPrivateNetwork), timeout: timeout, upTo: Self.maxBytes)
            status = response.status.code
            body = response.body
        } catch let refusal as OutboundRefusal where refusal.reason == .addressNotAllowed {
            throw Failure("the discovery URL's host \(refusal.host) is a loopback or private address: pass --allow-private-network (for tests only)")
        } catch is NIOTooManyBytesError {
            throw Failure("the discovery document is larger than \(Self.maxBytes / 1024) KiB")
        } catch let error as HTTPClientError where error.isTimeout {
            throw Failure("the discovery document did not arrive within \(timeout.nanoseconds / 1_000_000_000) s")
        } catch {
            throw Failure("the discovery URL could not be reached")
        }
        guard status == 200 else { throw Failure("the discovery URL answered \(status) (redirects are not followed)") }
        return try Self.parse(Data(buffer: body), expectedIssuer: issuer)
    }
}
