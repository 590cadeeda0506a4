@testable import AlterServer
import Foundation
import Testing
import Vapor

/// Drives the Connect flow through HTTP as a browser would: mint, open, consent, callback.
struct ConnectFlow {
    let app: Application
    let browser: TestBrowser
    let key: String
    static let nonce = "test-nonce-0123456789abcdef"

    func mint(_ body: [String: any Sendable] = ["allowed_origin": "http://localhost:4001"]) async throws -> String {
        let page = try await browser.postJSON("/v1/connect/sessions", body, headers: [("Authorization", "Bearer \(key)")])
        #expect(page.status == 201, "\(page.body)")
        return try #require(page.json["session_token"] as? String)
    }

    /// Loads the token like the widget's popup and returns the first page after the clean redirect.
    func open(_ token: String, mode: String = "popup") async throws -> TestBrowser.Page {
        let entry = try await browser.get("/connect?token=\(token)&nonce=\(Self.nonce)&mode=\(mode)")
        return try await browser.follow(entry)
    }

    /// The provider's authorization URL a flow page sends the browser to: the one-provider page
    /// links straight to it (the attempt is made with the page); a picker link goes through
    /// `/connect/s/{id}/start`, whose 303 names it.
    func authorizationURL(from page: TestBrowser.Page, provider: String? = nil) async throws -> String {
        let path: String
        if let provider {
            let marker = "data-provider=\"\(provider)\" href=\""
            let start = try #require(page.body.range(of: marker))
            let end = try #require(page.body.range(of: "\"", range: start.upperBound..<page.body.endIndex))
            path = String(page.body[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&")
        } else {
            path = try #require(page.scriptData["next"] as? String, "\(page.body)")
        }
        guard path.hasPrefix("/connect/") else { return path }
        let redirect = try await browser.get(path)
        #expect(redirect.status == 303, "\(redirect.body)")
        return try #require(redirect.location)
    }

    /// From a page that starts OAuth (auto-start page or a picker link) to the sandbox consent page.
    func startOAuth(from page: TestBrowser.Page, provider: String? = nil) async throws -> TestBrowser.Page {
        let authorize = try await authorizationURL(from: page, provider: provider)
        #expect(authorize.hasPrefix(browser.baseURL + "/sandbox/oauth/authorize?"))
        return try await browser.get(authorize)
    }

    /// Presses Allow or Deny on the sandbox consent page; returns the page after the callback.
    func decide(_ consent: TestBrowser.Page, allow: Bool, account: String? = nil) async throws -> TestBrowser.Page {
        try await browser.follow(try await browser.get(try await callbackURL(consent, allow: allow, account: account)))
    }

    /// Presses Allow or Deny on the sandbox consent page; returns the callback URL the sandbox
    /// sends the browser to, not yet loaded.
    func callbackURL(_ consent: TestBrowser.Page, allow: Bool, account: String? = nil) async throws -> String {
        let form = HTMLForm(html: consent.body)
        var fields = form.fields
        if let account { fields.removeAll { $0.0 == "account" }; fields.append(("account", account)) }
        if let button = form.button(id: allow ? "allow" : "deny") { fields.append(button) }
        let decision = try await browser.postForm(form.action ?? "/sandbox/oauth/decision", fields)
        #expect(decision.status == 303 || decision.status == 302, "\(decision.body)")
        let callbackURL = try #require(decision.location)
        #expect(callbackURL.hasPrefix(browser.baseURL + "/oauth/callback/"))
        return callbackURL
    }

    /// The whole happy path for a one-provider session; returns the finishing page.
    func connect(_ body: [String: any Sendable] = ["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"], account: String? = nil) async throws -> (token: String, page: TestBrowser.Page) {
        let token = try await mint(body)
        let start = try await open(token)
        let consent = try await startOAuth(from: start)
        return (token, try await decide(consent, allow: true, account: account))
    }

    func result(_ token: String, origin: String? = "http://localhost:4001") async throws -> TestBrowser.Page {
        var headers = [("Authorization", "Bearer \(token)")]
        if let origin { headers.append(("Origin", origin)) }
        return try await browser.get("/v1/connect/sessions/result", headers: headers)
    }
}

/// Just enough HTML form reading for the sandbox consent page.
struct HTMLForm {
    let html: String

    var action: String? { attribute("action", inTagMatching: "<form") }

    /// Hidden inputs and checked radios, in document order.
    var fields: [(String, String)] {
        tags("input").compactMap { tag in
            guard let name = Self.attribute("name", in: tag) else { return nil }
            let type = Self.attribute("type", in: tag) ?? "text"
            guard type == "hidden" || (type == "radio" && tag.contains("checked")) else { return nil }
            return (name, Self.decode(Self.attribute("value", in: tag) ?? ""))
        }
    }

    func button(id: String) -> (String, String)? {
        guard let tag = tags("button").first(where: { Self.attribute("id", in: $0) == id }), let name = Self.attribute("name", in: tag) else { return nil }
        return (name, Self.decode(Self.attribute("value", in: tag) ?? ""))
    }

    private func tags(_ name: String) -> [String] {
        var result: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "<\(name)"), let end = rest.range(of: ">", range: start.upperBound..<rest.endIndex) {
            result.append(String(rest[start.lowerBound..<end.upperBound]))
            rest = rest[end.upperBound...]
        }
        return result
    }

    private func attribute(_ name: String, inTagMatching prefix: String) -> String? {
        guard let start = html.range(of: prefix), let end = html.range(of: ">", range: start.upperBound..<html.endIndex) else { return nil }
        return Self.attribute(name, in: String(html[start.lowerBound..<end.upperBound])).map(Self.decode)
    }

    static func attribute(_ name: String, in tag: String) -> String? {
        guard let start = tag.range(of: " \(name)=\"") else { return nil }
        guard let end = tag.range(of: "\"", range: start.upperBound..<tag.endIndex) else { return nil }
        return String(tag[start.upperBound..<end.lowerBound])
    }

    static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}
