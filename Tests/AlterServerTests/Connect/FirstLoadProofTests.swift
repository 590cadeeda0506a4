@testable import AlterServer
import Fluent
import Foundation
import Testing
import Vapor

/// F1: a Connect link handed to another person must not take that person to the provider on its
/// own. (The popup's handshake itself runs in the browser: connect/test/hosted.test.mjs and
/// e2e/test_first_load_proof.py.)
@Suite("A Connect link's first load must be shown to come from the app's page")
struct FirstLoadProofTests {
    static let appOrigin = "http://localhost:4001"

    @Test("a popup's first page proceeds only after the opener's handshake: it asks for the proof and holds the interstitial")
    func popupWaitsForHandshake() async throws {
        try await withRunningApp { app, browser in
            let flow = ConnectFlow(app: app, browser: browser, key: try await seedApp(app, providers: ["sandbox"]).key)
            let page = try await flow.open(try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": Self.appOrigin]))
            #expect(page.status == 200)
            #expect(page.scriptData["prove"] as? Bool == true)
            #expect(page.body.contains("id=\"alter-unproven\" hidden"))
            #expect(page.body.contains("Continue only if you started this yourself in"))
            // The page links straight to the provider (its attempt made with the page), but only
            // its script after the receipt, or the person's click, follows the link.
            let next = try #require(page.scriptData["next"] as? String)
            #expect(next.hasPrefix(browser.baseURL + "/sandbox/oauth/authorize?"))
            #expect(page.body.contains("href=\"\(next.replacingOccurrences(of: "&", with: "&amp;"))\""), "the interstitial's Continue link")
            let attempts = try await OAuthAttempt.query(on: app.db).all()
            #expect(attempts.count == 1 && attempts.allSatisfy { $0.consumedAt == nil })
        }
    }

    @Test("a redirect-mode first load from the app's page (Referer) proceeds on its own")
    func redirectFromAppPage() async throws {
        try await withRunningApp { app, browser in
            let flow = ConnectFlow(app: app, browser: browser, key: try await seedApp(app, providers: ["sandbox"]).key)
            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": Self.appOrigin])
            let entry = try await browser.get("/connect?token=\(token)&nonce=\(ConnectFlow.nonce)&mode=redirect", headers: [("Referer", Self.appOrigin + "/settings")])
            #expect(entry.status == 200)
            let page = try await browser.follow(entry)
            #expect(page.scriptData["prove"] as? Bool == false)
            // A reload keeps the proof: the clean URL carries it, as the redirect did.
            #expect((page.scriptData["address"] as? String)?.contains("proof=") == true)
            #expect(!page.body.contains("id=\"alter-unproven\""))
            let consent = try await flow.startOAuth(from: page)
            #expect(consent.status == 200)
        }
    }

    @Test("a bare connect_url opened directly (no Referer) shows the interstitial naming the app")
    func bareLinkInterstitial() async throws {
        try await withRunningApp { app, browser in
            let flow = ConnectFlow(app: app, browser: browser, key: try await seedApp(app, providers: ["sandbox"]).key)
            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": Self.appOrigin])
            let page = try await browser.follow(try await browser.get("/connect?token=\(token)"))
            #expect(page.scriptData["prove"] as? Bool == true)
            #expect(page.body.contains("<section id=\"alter-unproven\" hidden><h1>Connect Sandbox to"))
            #expect(page.body.contains(Self.appOrigin))
        }
    }

    @Test("a first load from another site is refused with 403 and leaves the token unused")
    func foreignReferer() async throws {
        try await withRunningApp { app, browser in
            let flow = ConnectFlow(app: app, browser: browser, key: try await seedApp(app, providers: ["sandbox"]).key)
            let token = try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": Self.appOrigin])
            for referer in ["https://attacker.example/share", "http://localhost:4002/"] {
                let entry = try await browser.get("/connect?token=\(token)&mode=redirect", headers: [("Referer", referer)])
                #expect(entry.status == 403)
                #expect(entry.body.contains("opened from another site"))
                #expect(entry.headers.first(name: "Set-Cookie") == nil)
            }
            let session = try #require(try await ConnectSession.query(on: app.db).first())
            #expect(session.consumedAt == nil, "the person the link was meant for can still use it")
        }
    }

    @Test("a picker's start without this browser's proof is refused with 403 and creates no OAuth attempt")
    func startNeedsProof() async throws {
        try await withRunningApp { app, browser in
            let flow = ConnectFlow(app: app, browser: browser, key: try await seedApp(app, providers: ["sandbox", "sandbox-mail"]).key)
            let picker = try await flow.open(try await flow.mint(["allowed_providers": ["sandbox", "sandbox-mail"], "allowed_origin": Self.appOrigin]))
            let marker = try #require(picker.body.range(of: "data-provider=\"sandbox\" href=\""))
            let end = try #require(picker.body.range(of: "\"", range: marker.upperBound..<picker.body.endIndex))
            let next = String(picker.body[marker.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&")
            let bare = try #require(next.components(separatedBy: "&proof=").first)
            for path in [bare, bare + "&proof=" + String(repeating: "0", count: 64)] {
                let start = try await browser.get(path)
                #expect(start.status == 403)
                #expect(start.body.contains("must start from the Connect window"))
            }
            #expect(try await OAuthAttempt.query(on: app.db).count() == 0)
            let proven = try await browser.get(next)
            #expect(proven.status == 303)
            #expect(try await OAuthAttempt.query(on: app.db).count() == 1)
        }
    }

    @Test("a reload of an unproven one-provider page is still unproven: prepared attempts prove nothing")
    func reloadStaysUnproven() async throws {
        try await withRunningApp { app, browser in
            let flow = ConnectFlow(app: app, browser: browser, key: try await seedApp(app, providers: ["sandbox"]).key)
            let first = try await browser.get("/connect?token=\(try await flow.mint(["allowed_providers": ["sandbox"], "allowed_origin": Self.appOrigin]))")
            let reloaded = try await browser.get(try #require(first.scriptData["address"] as? String))
            #expect(reloaded.status == 200)
            #expect(reloaded.scriptData["prove"] as? Bool == true)
            #expect(try await OAuthAttempt.query(on: app.db).count() == 2)
        }
    }
}
