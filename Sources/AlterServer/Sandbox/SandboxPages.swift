import Foundation
import NIOHTTP1
import Vapor

/// The sandbox's two HTML pages: consent, and the error shown when it must not redirect.
/// Small and self-contained (no external assets, so the CSP can forbid everything but
/// inline style); every dynamic value goes through `HTML.escape`.
enum SandboxPages {
    static func consent(_ authorization: SandboxAuthorizationRequest, providerName: String, publicURL: String) -> String {
        let app = HTML.escape(authorization.client.appName)
        let provider = HTML.escape(providerName)
        var hidden: [(String, String)] = [
            ("response_type", "code"),
            ("client_id", authorization.client.clientID),
            ("redirect_uri", authorization.redirectURI),
            ("scope", authorization.scope),
            ("code_challenge", authorization.codeChallenge),
            ("code_challenge_method", "S256"),
        ]
        if let state = authorization.state { hidden.append(("state", state)) }
        if let nonce = authorization.nonce { hidden.append(("nonce", nonce)) }
        let hiddenFields = hidden.map { "<input type=\"hidden\" name=\"\(HTML.escape($0.0))\" value=\"\(HTML.escape($0.1))\">" }
        let accounts = SandboxAccount.all.enumerated().map { index, account in
            """
            <label class="account"><input type="radio" name="account" value="\(HTML.escape(account.email))"\(index == 0 ? " checked" : "")>\
            <span>\(HTML.escape(account.name))<span class="muted">\(HTML.escape(account.email))</span></span></label>
            """
        }
        let scopes = authorization.scopes.map { "<li>\(HTML.escape($0))</li>" }
        let branding = authorization.client.branding
        let logo = branding?.logoDataURI.map { "<img class=\"logo\" src=\"\(HTML.escape($0))\" alt=\"\(app)\">" } ?? ""
        // The accent passed AppBrandingRules (#rrggbb, 4.5:1 with white text).
        let accent = branding?.accentColor.map { ":root{--accent:\(HTML.escape($0));--on-accent:#fff}" } ?? ""
        return document(escapedTitle: "Allow \(app) to use your \(provider) account?", extraStyle: accent, body: """
            \(logo)<h1><strong>\(app)</strong> wants to use your \(provider) account</h1>
            <form method="post" action="\(HTML.escape(publicURL))/sandbox/oauth/decision">
            \(hiddenFields.joined(separator: "\n"))
            <fieldset><legend>Continue as</legend>
            \(accounts.joined(separator: "\n"))
            </fieldset>
            <h2>It will be able to see</h2>
            <ul>\(scopes.joined())</ul>
            <div class="actions">
            <button type="submit" name="decision" value="allow" id="allow">Allow</button>
            <button type="submit" name="decision" value="deny" id="deny">Deny</button>
            </div>
            </form>
            <p class="muted note">\(provider) is Alter Vault's built-in test provider; no real account is involved.</p>
            """)
    }

    static func error(_ message: String) -> String {
        document(escapedTitle: "This sign-in request cannot continue", body: """
            <h1>This sign-in request cannot continue</h1>
            <p>\(HTML.escape(message))</p>
            <p class="muted">Close this window and try again from the app.</p>
            """)
    }

    /// An HTML response with the headers every sandbox page carries.
    static func response(_ html: String, status: HTTPResponseStatus = .ok, callbackOrigin: String, crossOriginIsolated: Bool = false) -> Response {
        let response = Response(status: status, body: .init(string: html))
        response.headers.contentType = .html
        response.headers.cacheControl = .init(noStore: true)
        response.headers.replaceOrAdd(name: "X-Frame-Options", value: "DENY")
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
        // Chrome applies form-action to the redirects that follow a form POST, so the
        // callback's origin must be allowed too, or Allow would be blocked.
        response.headers.replaceOrAdd(
            name: "Content-Security-Policy",
            value: "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' \(callbackOrigin); frame-ancestors 'none'; base-uri 'none'")
        if crossOriginIsolated {
            // As some real providers do: the popup loses `window.opener`, and the widget
            // must still learn how the flow ended.
            response.headers.replaceOrAdd(name: "Cross-Origin-Opener-Policy", value: "same-origin")
        }
        return response
    }

    /// `scheme://host[:port]` of a URL, as CSP source expressions want it.
    static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return "'self'" }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }

    private static func document(escapedTitle: String, extraStyle: String = "", body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>\(escapedTitle)</title>
        <style>\(style)\(extraStyle)</style>
        </head>
        <body>
        <main>
        \(body)
        </main>
        </body>
        </html>
        """
    }

    private static let style = """
        :root{--bg:#f4f5f7;--card:#fff;--text:#1a1d21;--muted:#5a6270;--line:#d4d8de;--accent:#2456d6;--on-accent:#fff}
        @media (prefers-color-scheme:dark){:root{--bg:#0f1216;--card:#191e25;--text:#e7eaee;--muted:#9aa3af;--line:#333b46;--accent:#7098ff;--on-accent:#0a0f1d}}
        *{box-sizing:border-box}
        body{margin:0;min-height:100vh;display:grid;place-items:center;padding:16px;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
        main{width:100%;max-width:420px;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:24px}
        h1{font-size:1.2rem;margin:0 0 16px;overflow-wrap:anywhere}
        h2{font-size:1rem;margin:16px 0 4px}
        p{margin:0 0 12px}
        ul{margin:0 0 20px;padding-left:20px}
        fieldset{border:0;margin:0;padding:0}
        legend{font-weight:600;margin-bottom:8px}
        .account{display:flex;gap:12px;align-items:center;padding:10px 12px;margin-bottom:8px;border:1px solid var(--line);border-radius:8px;cursor:pointer}
        .account:has(input:checked){border-color:var(--accent)}
        .muted{display:block;color:var(--muted);font-size:.875rem}
        .actions{display:flex;flex-wrap:wrap;gap:8px}
        button{flex:1 1 140px;font:inherit;font-weight:600;padding:10px 16px;border-radius:8px;border:1px solid var(--line);background:transparent;color:var(--text);cursor:pointer}
        #allow{background:var(--accent);border-color:var(--accent);color:var(--on-accent)}
        :focus-visible{outline:3px solid var(--accent);outline-offset:2px}
        .note{margin:16px 0 0}
        .logo{display:block;max-height:48px;max-width:192px;margin:0 0 12px}
        """
}
