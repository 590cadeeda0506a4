import Foundation
import NIOHTTP1
import Vapor

/// The authorization response: a redirect to the client's redirect URI (RFC 6749 §4.1.2),
/// always carrying `iss` (RFC 9207) so the client can tell which server answered.
enum SandboxRedirect {
    static func location(redirectURI: String, _ parameters: [(String, String?)]) -> String {
        let present = parameters.compactMap { name, value in value.map { (name, $0) } }
        let separator = redirectURI.contains("?") ? "&" : "?"
        return redirectURI + separator + SandboxForm.encode(present)
    }

    /// `302` answers the GET of `/authorize`; `303` answers the consent form's POST, so the
    /// browser follows it with a GET.
    static func response(to location: String, status: HTTPResponseStatus) -> Response {
        let response = Response(status: status)
        response.headers.replaceOrAdd(name: .location, value: location)
        response.headers.cacheControl = .init(noStore: true)
        return response
    }

    static func error(
        _ error: String, description: String, redirectURI: String, state: String?, issuer: String, status: HTTPResponseStatus
    ) -> Response {
        response(
            to: location(redirectURI: redirectURI, [("error", error), ("error_description", description), ("state", state), ("iss", issuer)]),
            status: status)
    }
}
