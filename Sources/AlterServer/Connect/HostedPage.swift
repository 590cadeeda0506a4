import Foundation
import Vapor

/// A server-rendered Connect UI page with its security headers. Each response gets a fresh
/// CSP nonce; only the page's own inline script and style carry it.
struct HostedPage {
    let nonce = SecretToken.randomString(bytes: 16)

    /// Data for the page script: events and a result to post to `window.opener`, a URL to
    /// continue to. Rendered as JSON in a non-executable `<script type="application/json">`.
    struct Script: Encodable {
        struct Event: Encodable {
            let name: String
            let metadata: [String: String]
        }
        var nonce: String?
        var origin: String?
        var events: [Event] = []
        var result: Result?
        var next: String?
        var close = false
        /// Links with `data-provider` post PROVIDER_SELECTED and OAUTH_STARTED when clicked.
        var pickerLinks = false
        /// F1: `next` waits for the opener's receipt; without one the page shows `#alter-unproven`.
        var prove = false
        /// The clean URL the page puts in the address bar (`history.replaceState`): the entry
        /// renders the flow page at `/connect?token=…`, and a reload must load the flow instead.
        var address: String?
    }

    struct Result: Encodable {
        var grants: [GrantPayload]?
        var error: APIErrorBody.Payload?
    }

    /// `branding`: the app's accent colour (checked by `AppBrandingRules`) replaces the
    /// default in light and dark mode, and its logo heads the page.
    func response(
        title: String, body: String, script: Script? = nil, status: HTTPResponseStatus = .ok, isHTTPS: Bool, branding: AppBranding? = nil
    ) -> Response {
        let accent = branding?.accentColor.map { "<style nonce=\"\(nonce)\">:root{--ac:\(HTML.escape($0))}</style>" } ?? ""
        let logo = branding?.logoDataURI.map { "<img class=\"logo\" src=\"\(HTML.escape($0))\" alt=\"\(HTML.escape(branding?.name ?? ""))\">" } ?? ""
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">\
            <title>\(HTML.escape(title))</title><style nonce="\(nonce)">\(Self.css)</style>\(accent)</head>\
            <body><main>\(logo)\(body)</main>
            """
        if let script {
            html += "<script type=\"application/json\" id=\"alter-data\">\(Self.json(script))</script>"
            html += "<script nonce=\"\(nonce)\">\(Self.js)</script>"
        }
        html += "</body></html>"
        let response = Response(status: status, body: .init(string: html))
        PageSecurity.apply(to: response, nonce: nonce, isHTTPS: isHTTPS)
        // No Cross-Origin-Opener-Policy here: it would cut the widget's `window.opener`.
        return response
    }

    /// JSON that cannot close the `<script>` element it sits in.
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return text.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }

    /// The pages' script: connect/src/hosted.ts, built by connect/build.sh into Resources/hosted.js
    /// (freshness-checked with the widget). Read once; it posts only to `window.opener` at the
    /// session's exact origin with the nonce, and waits for the opener's receipt (F1).
    static let js: String = {
        guard let url = Bundle.module.url(forResource: "hosted", withExtension: "js", subdirectory: "Resources"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            preconditionFailure("Resources/hosted.js is missing from the build; run connect/build.sh")
        }
        return text
    }()

    static let css = """
        :root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1f;--mu:#5f6170;--bd:#d9dae0;--ac:#2b59c3;--ok:#1d7a46}\
        @media (prefers-color-scheme:dark){:root{--bg:#141417;--fg:#ececf1;--mu:#a3a5b3;--bd:#34353d;--ac:#7d9cf0;--ok:#5cc98c}}\
        *{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,Segoe UI,sans-serif}\
        main{max-width:26rem;margin:0 auto;padding:2rem 1rem}h1{font-size:1.25rem;margin:0 0 .25rem}p{color:var(--mu);margin:.25rem 0 1rem}\
        ul{list-style:none;padding:0;margin:1rem 0}li{margin:.5rem 0}\
        .p{display:flex;align-items:center;gap:.75rem;padding:.75rem;border:1px solid var(--bd);border-radius:.6rem;color:inherit;text-decoration:none;min-height:3rem}\
        a.p:hover,a.p:focus-visible{border-color:var(--ac);outline:2px solid var(--ac);outline-offset:1px}\
        .i{flex:none;width:2rem;height:2rem;border-radius:.4rem;display:grid;place-items:center;background:var(--ac);color:#fff;font-weight:600;font-size:.8rem}\
        .i svg{width:1.25rem;height:1.25rem;fill:currentColor}.n{font-weight:600}.d{display:block;color:var(--mu);font-size:.875rem}\
        .c{margin-left:auto;color:var(--ok);font-size:.875rem;font-weight:600}\
        button{font:inherit;width:100%;padding:.7rem;border:0;border-radius:.6rem;background:var(--ac);color:#fff;font-weight:600;cursor:pointer}\
        button:focus-visible{outline:3px solid var(--fg);outline-offset:2px}code{font-size:.875rem;word-break:break-all}\
        .logo{display:block;max-height:3rem;max-width:12rem;margin:0 0 1rem}
        """
}
