import Foundation
import Vapor

/// Binds a Connect flow to the browser that first loaded its token: a random cookie whose
/// hash is stored on the session. A stolen clean URL or `state` is useless in another
/// browser.
///
/// The cookie is `__Host-` prefixed and `Secure` (no `Domain`, `Path=/`), so a sibling
/// subdomain or a network attacker on plain http cannot plant or overwrite it (security
/// review F13). Only a vault on loopback http (development) uses a plain name without
/// `Secure`, which browsers would refuse there. It is cleared when the flow ends.
enum BrowserBinding {
    static let lifetime = 3600

    /// False only for a public URL on loopback http.
    static func isSecure(_ configuration: AlterConfiguration) -> Bool {
        configuration.isHTTPS || !configuration.isLoopback
    }

    static func cookieName(for sessionID: UUID, secure: Bool) -> String {
        (secure ? "__Host-" : "") + "alter_flow_"
            + sessionID.lowercasedString.replacingOccurrences(of: "-", with: "").prefix(12)
    }

    /// Creates the cookie value; store `SecretToken.hash(value)` on the session.
    static func newValue() -> String { SecretToken.randomString(bytes: 32) }

    static func setCookie(_ value: String, for sessionID: UUID, on response: Response, configuration: AlterConfiguration) {
        let secure = isSecure(configuration)
        response.cookies[cookieName(for: sessionID, secure: secure)] = HTTPCookies.Value(
            string: value, maxAge: lifetime, path: "/", isSecure: secure, isHTTPOnly: true, sameSite: .lax)
    }

    /// Expires the cookie: the flow is over, the browser need not carry it any more.
    static func clear(for sessionID: UUID, on response: Response, configuration: AlterConfiguration) {
        let secure = isSecure(configuration)
        response.cookies[cookieName(for: sessionID, secure: secure)] = HTTPCookies.Value(
            string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/", isSecure: secure, isHTTPOnly: true, sameSite: .lax)
    }

    static func matches(_ request: Request, sessionID: UUID, browserHash: String?) -> Bool {
        let name = cookieName(for: sessionID, secure: isSecure(request.application.alterConfiguration))
        guard let browserHash, let value = request.cookies[name]?.string, !value.isEmpty else { return false }
        return SecretToken.hash(value) == browserHash
    }
}
