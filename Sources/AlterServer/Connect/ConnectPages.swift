import Foundation

/// The bodies of the Connect UI pages. Every dynamic value is escaped here.
enum ConnectPages {
    struct PickerEntry {
        let provider: CatalogProvider
        let connected: Bool
        let startPath: String
    }

    static func picker(appName: String, entries: [PickerEntry], donePath: String?, notice: String? = nil) -> String {
        var html = "<h1>Connect an account</h1>"
        if let notice { html += "<p role=\"status\" id=\"notice\">\(HTML.escape(notice)) Pick another service, or try again.</p>" }
        html += "<p>\(HTML.escape(appName)) asks you to connect one of these services.</p><ul>"
        for entry in entries {
            let provider = entry.provider
            let icon = provider.logoSVG ?? HTML.escape(provider.initials)
            let text = "<span class=\"i\" aria-hidden=\"true\">\(icon)</span><span><span class=\"n\">\(HTML.escape(provider.name))</span>"
                + "<span class=\"d\">\(HTML.escape(provider.description))</span></span>"
            if entry.connected {
                html += "<li><div class=\"p\">\(text)<span class=\"c\">Connected</span></div></li>"
            } else {
                html += "<li><a class=\"p\" data-provider=\"\(HTML.escape(provider.id))\" href=\"\(HTML.escape(entry.startPath))\">\(text)</a></li>"
            }
        }
        html += "</ul>"
        if let donePath {
            html += "<form method=\"post\" action=\"\(HTML.escape(donePath))\"><button id=\"done\" type=\"submit\">Done</button></form>"
        }
        return html
    }

    /// Who will use what the person connects, when the session names an agent: shown on
    /// every page of the flow before the provider's consent.
    static func agentNotice(appName: String, agentName: String) -> String {
        "<p id=\"agent\" role=\"note\">\(HTML.escape(appName))'s agent <strong>\(HTML.escape(agentName))</strong> is asking:"
            + " it will be able to use the account you connect here.</p>"
    }

    static func message(_ title: String, _ text: String, code: String? = nil) -> String {
        var html = "<h1>\(HTML.escape(title))</h1><p>\(HTML.escape(text))</p>"
        if let code { html += "<p><code>\(HTML.escape(code))</code></p>" }
        return html
    }

    static func providerError(_ details: [String: String]) -> String {
        var html = "<h1>The provider reported an error</h1><p>Nothing was connected. You can close this window and try again.</p>"
        if let error = details["error"] { html += "<p><code>\(HTML.escape(error))</code></p>" }
        if let description = details["error_description"] { html += "<p>\(HTML.escape(description))</p>" }
        return html
    }
}
