import Fluent
import Foundation
import Vapor

/// F1: a Connect link handed to another person must not connect that person's account to the
/// sender. Before its first load a session token is a bearer capability, so the flow only
/// proceeds on its own once the first load is shown to come from the app's page that asked for
/// the session (docs/connect-protocol.md §6):
///
/// - popup: the page's `alter:hello` is echoed by `window.opener` at the session's exact origin
///   with the nonce (connect/src/hosted.ts; the server only renders `prove`);
/// - redirect: the first load's `Referer` has the session's origin;
/// - otherwise an interstitial names the app and waits for a click; a first load whose `Referer`
///   or `Origin` names another site is refused before the token is consumed.
///
/// Every way to the provider needs a secret only this browser's hosted pages know: the picker's
/// `/start` links need the proof token (a hash of the binding cookie), and the one-provider page
/// links to the provider with a fresh `state` (`OAuthStart`). So no page outside the vault can
/// send a bound browser to the provider, and the pages' script decides when the flow proceeds.
enum FirstLoadProof {
    /// What the first load's headers say about the page it came from.
    enum Evidence: Equatable {
        /// The session's own origin (the app's page).
        case appPage
        /// Another site: the link was forwarded or embedded elsewhere.
        case foreignPage
        /// Nothing: opened directly, from a mail client, or from a page sending no referrer.
        case unknown
    }

    static func evidence(of request: Request, sessionOrigin: String) -> Evidence {
        let vault = origin(of: request.application.alterConfiguration.publicURL)
        let headers: [String] = [request.headers.first(name: .origin), request.headers.first(name: .referer)].compactMap { $0 }
        let claimed: [String] = headers.compactMap { origin(of: $0) }
            .filter { $0 != vault }  // a vault page of its own is no evidence either way
        if claimed.isEmpty { return .unknown }
        return claimed.allSatisfy { $0 == origin(of: sessionOrigin) } ? .appPage : .foreignPage
    }

    /// The proof token of the browser bound to `sessionID` (nil without its binding cookie).
    static func token(_ request: Request, sessionID: UUID) -> String? {
        request.cookies[BrowserBinding.cookieName(for: sessionID, secure: BrowserBinding.isSecure(request.application.alterConfiguration))].map { token(cookieValue: $0.string, sessionID: sessionID) }
    }

    static func token(cookieValue: String, sessionID: UUID) -> String {
        SecretToken.hash("first-load-proof:" + sessionID.lowercasedString + ":" + cookieValue)
    }

    /// Whether the request carries this browser's proof token as `?proof=`.
    static func isPresented(_ request: Request, sessionID: UUID) -> Bool {
        guard let presented = request.query[String.self, at: "proof"], let expected = token(request, sessionID: sessionID) else { return false }
        return presented == expected
    }

    /// `path` with the proof token added as a query parameter.
    static func adding(_ proof: String, to path: String) -> String {
        path + (path.contains("?") ? "&" : "?") + "proof=" + proof
    }

    /// Whether the flow page may proceed on its own: the proof came with the request (a redirect
    /// first load from the app's page, `presented`), or this browser already came back from a
    /// provider (a consumed attempt: it went there after the receipt or the person's click).
    /// Attempts merely prepared for a page's link (`OAuthStart`) show nothing.
    static func isShown(presented: Bool, session: ConnectSession, on db: any Database) async throws -> Bool {
        if presented { return true }
        return try await OAuthAttempt.query(on: db).filter(\.$session.$id == (try session.requireID())).filter(\.$consumedAt != nil).count() > 0
    }

    /// `scheme://host[:port]`, lowercased, of an absolute http(s) URL.
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }

    /// The interstitial: names the app and where the session was meant to be used, and makes the
    /// person click to continue. Hidden while the popup's handshake may still prove the load; the
    /// `<noscript>` copy is what a browser without scripts shows instead of "Connecting…".
    static func interstitial(appName: String, providerName: String, sessionOrigin: String, continuePath: String, provider: String, noscript: Bool = false) -> String {
        let app = HTML.escape(appName)
        let site = HTML.escape(sessionOrigin)
        return """
            <section\(noscript ? "" : " id=\"alter-unproven\" hidden")><h1>Connect \(HTML.escape(providerName)) to \(app)?</h1>\
            <p>This Connect link was not shown to come from \(app) (\(site)). Continue only if you started this \
            yourself in \(app). If someone sent you this link, close this window: continuing would connect your \
            account to theirs.</p><p><a class="p" data-provider="\(HTML.escape(provider))" href="\(HTML.escape(continuePath))">\
            Continue to \(HTML.escape(providerName))</a></p></section>
            """
    }

    /// The picker's warning when the load is not shown to come from the app's page.
    static func pickerWarning(appName: String, sessionOrigin: String) -> String {
        let app = HTML.escape(appName)
        return """
            <p id="alter-unproven" hidden><strong>Only continue if you started this yourself in \(app) \
            (\(HTML.escape(sessionOrigin))).</strong> If someone sent you this link, close this window.</p>
            """
    }

    static func foreignPage(_ request: Request) -> Response {
        ConnectUIController.errorPage(
            request, "This Connect link was opened from another site",
            "Connect links work only from the app that created them. If someone sent you this link, close this window; nothing was connected.",
            status: .forbidden)
    }

    static func startRefused(_ request: Request) -> Response {
        ConnectUIController.errorPage(
            request, "This step must start from the Connect window",
            "Go back to the app and start again; nothing was connected.", status: .forbidden)
    }
}
