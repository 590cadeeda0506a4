import Foundation
import Vapor

/// Binds a Connect flow to the browser that first loaded its token: a random cookie whose
/// hash is stored on the session. A stolen clean URL or `state` is useless in another
/// browser.
enum BrowserBinding {
    static let lifetime = 3600

    static func cookieName(for sessionID: UUID) -> String {
        "alter_flow_" + sessionID.uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
    }

    /// Creates the cookie value; store `SecretToken.hash(value)` on the session.
    static func newValue() -> String { SecretToken.randomString(bytes: 32) }

    static func setCookie(_ value: String, for sessionID: UUID, on response: Response, secure: Bool) {
        response.cookies[cookieName(for: sessionID)] = HTTPCookies.Value(
            string: value, maxAge: lifetime, path: "/", isSecure: secure, isHTTPOnly: true, sameSite: .lax)
    }

    static func matches(_ request: Request, sessionID: UUID, browserHash: String?) -> Bool {
        guard let browserHash, let value = request.cookies[cookieName(for: sessionID)]?.string else { return false }
        return SecretToken.hash(value) == browserHash
    }
}
