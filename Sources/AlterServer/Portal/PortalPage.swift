import Fluent
import Foundation
import Vapor

/// A portal page: the shell (header, the app's section links, sign-out), its style and the
/// small copy-button script, with `PageSecurity`'s headers and a fresh nonce. Every dynamic
/// value in a body goes through `HTML.escape` where the body is built.
struct PortalPage {
    let nonce = SecretToken.randomString(bytes: 16)

    /// The sections of one app, in the order of the navigation.
    enum Section: String, CaseIterable {
        case overview, keys, providers, identity, webhooks, grants, audit, agents, secrets, policies, approvals

        var title: String {
            switch self {
            case .overview: "Overview"
            case .keys: "Keys"
            case .providers: "Providers"
            case .identity: "Identity"
            case .webhooks: "Webhooks"
            case .grants: "Grants"
            case .audit: "Audit"
            case .agents: "Agents"
            case .secrets: "Secrets"
            case .policies: "Policies"
            case .approvals: "Approvals"
            }
        }

        func path(_ appID: UUID) -> String {
            PortalPaths.app(appID) + (self == .overview ? "" : "/" + rawValue)
        }
    }

    struct AppContext {
        let app: ClientApp
        let section: Section
    }

    func response(
        _ request: Request, title: String, body: String, app: AppContext? = nil, status: HTTPResponseStatus = .ok
    ) -> Response {
        var header = "<header><a class=\"brand\" href=\"/portal\">Alter Vault portal</a>"
        if let signedIn = request.signedInOperator {
            header += "<span class=\"who\">\(HTML.escape(signedIn.email))</span>"
                + "<form method=\"post\" action=\"/portal/logout\">\(PortalForm.csrfField(signedIn))<button class=\"link\" type=\"submit\">Sign out</button></form>"
        }
        header += "</header>"
        var nav = ""
        if let app, let id = app.app.id {
            nav = "<nav aria-label=\"App sections\"><p class=\"app\"><a href=\"/portal\">Apps</a> / <strong>\(HTML.escape(app.app.name))</strong></p><ul>"
            for section in Section.allCases {
                let current = section == app.section ? " aria-current=\"page\"" : ""
                nav += "<li><a href=\"\(section.path(id))\"\(current)>\(section.title)</a></li>"
            }
            nav += "</ul></nav>"
        }
        let notice = PortalNotice.text(for: request).map { "<p class=\"notice\" role=\"status\">\(HTML.escape($0))</p>" } ?? ""
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="same-origin">\
            <title>\(HTML.escape(title)) · Alter Vault portal</title><style nonce="\(nonce)">\(Self.css)</style></head>\
            <body><a class="skip" href="#main">Skip to content</a>\(header)\(nav)<main id="main"><h1>\(HTML.escape(title))</h1>\(notice)\(body)</main>\
            <script nonce="\(nonce)">\(Self.js)</script></body></html>
            """
        let response = Response(status: status, body: .init(string: html))
        PageSecurity.apply(to: response, nonce: nonce, isHTTPS: request.application.alterConfiguration.isHTTPS)
        // Not `no-referrer`: with it Chromium sends `Origin: null` on the portal's own form
        // posts, and PortalForm.isSameOrigin needs the real origin. Other sites still get none.
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "same-origin")
        return response
    }

    /// Copy buttons (`data-copy` names the element whose text is copied); without script the
    /// value is still shown selectable, and the buttons stay hidden.
    static let js = """
        document.querySelectorAll('button[data-copy]').forEach(function(b){b.hidden=false;b.addEventListener('click',function(){\
        var t=document.getElementById(b.getAttribute('data-copy'));if(!t)return;var v=t.value!==undefined?t.value:t.textContent;\
        navigator.clipboard.writeText(v).then(function(){b.textContent='Copied';},function(){t.select&&t.select();});});});
        """

    static let css = """
        :root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1f;--mu:#5f6170;--bd:#d9dae0;--ac:#2b59c3;--er:#b3261e;--ok:#1d7a46;--pa:#f4f5f8}\
        @media (prefers-color-scheme:dark){:root{--bg:#141417;--fg:#ececf1;--mu:#a3a5b3;--bd:#3a3b44;--ac:#8aa6f5;--er:#ff8a80;--ok:#5cc98c;--pa:#1d1e23}}\
        *{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif}\
        a{color:var(--ac)}:focus-visible{outline:3px solid var(--ac);outline-offset:2px}\
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:var(--bg);padding:.25rem .5rem}\
        header{display:flex;gap:1rem;align-items:center;padding:.75rem 1.5rem;border-bottom:1px solid var(--bd)}\
        header .brand{font-weight:700;color:inherit;text-decoration:none;margin-right:auto}.who{color:var(--mu)}header form{margin:0}\
        nav{padding:.5rem 1.5rem;border-bottom:1px solid var(--bd)}nav .app{margin:0 0 .25rem}nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}\
        nav a[aria-current]{font-weight:700;color:var(--fg)}\
        main{max-width:64rem;margin:0 auto;padding:1.5rem}h1{font-size:1.4rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}\
        table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--bd);vertical-align:top}\
        th{font-weight:600;color:var(--mu);font-size:.85rem}td code{word-break:break-all}\
        form.box{border:1px solid var(--bd);border-radius:.5rem;padding:1rem;margin:.5rem 0 1rem;background:var(--pa)}\
        form.inline{display:inline}label{display:block;font-weight:600;margin:.5rem 0 .2rem}.hint{color:var(--mu);font-size:.85rem;font-weight:400;margin:.1rem 0}\
        input[type=text],input[type=email],input[type=password],input[type=url],input[type=search],input:not([type]),textarea,select{font:inherit;width:100%;max-width:36rem;padding:.45rem .5rem;border:1px solid var(--bd);border-radius:.4rem;background:var(--bg);color:var(--fg)}\
        textarea{min-height:6rem;font-family:ui-monospace,monospace;font-size:.85rem}\
        button{font:inherit;padding:.45rem .9rem;border:1px solid var(--ac);border-radius:.4rem;background:var(--ac);color:#fff;font-weight:600;cursor:pointer;margin-top:.6rem}\
        @media (prefers-color-scheme:dark){button{color:#111}}\
        button.secondary{background:transparent;color:var(--ac)}button.danger{background:var(--er);border-color:var(--er)}\
        button.link{background:none;border:0;color:var(--ac);padding:0;margin:0;text-decoration:underline;font-weight:400}\
        .notice{padding:.6rem .8rem;border-left:4px solid var(--ok);background:var(--pa)}\
        .error{padding:.6rem .8rem;border-left:4px solid var(--er);background:var(--pa);color:var(--fg)}\
        .secret{font-family:ui-monospace,monospace}.muted{color:var(--mu)}.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}\
        .filters label{margin:0}.filters input,.filters select{width:12rem}.pager{display:flex;gap:1rem}\
        .swatch{display:inline-block;width:1rem;height:1rem;border-radius:.2rem;vertical-align:middle;border:1px solid var(--bd)}\
        img.logo{max-height:3rem;max-width:12rem;display:block;margin:.5rem 0}
        """
}

/// Fixed confirmations after a redirect (`?done=…`): only these texts can appear, so a link
/// cannot make the portal say something else.
enum PortalNotice {
    static let texts: [String: String] = [
        "signed_out": "You are signed out.",
        "saved": "Saved.",
        "key_revoked": "The key is revoked. Requests with it are refused within a few seconds.",
        "provider_saved": "The provider is set up.",
        "custom_added": "The custom provider is added. Now set up its OAuth client below.",
        "grant_revoked": "The grant is revoked.",
        "webhook_removed": "Webhooks are off for this app.",
        "retry_queued": "The event is queued for delivery now.",
        "agent_revoked": "The agent and its keys are revoked.",
        "secret_deleted": "The managed secret is deleted.",
        "policy_added": "The rule is added. Every instance applies it within 5 seconds.",
        "policy_deleted": "The rule is deleted. Every instance stops applying it within 5 seconds.",
        "approval_approved": "Approved. The call was made once; its result is kept for the app.",
        "approval_denied": "Denied. The call is not made.",
        "app_deleted": "The app is deleted.",
        "expired": "Your session ended. Sign in again.",
    ]

    static func text(for request: Request) -> String? {
        request.query[String.self, at: "done"].flatMap { texts[$0] }
    }
}
