@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

@Suite("Calling provider APIs through the vault")
struct ProxyTests {
    @Test("an app calls the sandbox API with a grant and gets the provider's answer", arguments: TestDatabase.all)
    func proxies(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)

            let response = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID], caller: "calendar-sync")

            #expect(response.status == 200)
            #expect(response.json["account"] as? String == "alice@sandbox.test")
            #expect((response.json["events"] as? [Any])?.count == 3)
            #expect(response.headers.first(name: "Alter-Source") == "upstream")
            #expect(response.headers.first(name: "Alter-Grant-Id") == grantID)

            let audit = try await vault.get("/v1/audit").json["events"] as? [[String: Any]]
            let entry = try #require(audit?.first)
            #expect(entry["action"] as? String == "proxy")
            #expect(entry["caller"] as? String == "calendar-sync")
            #expect(entry["method"] as? String == "GET")
            #expect(entry["host"] as? String == "localhost")
            #expect(entry["status"] as? Int == 200)
            #expect(entry["grant_id"] as? String == grantID)
        }
    }

    @Test("the provider's status and body pass through, including errors and POST bodies")
    func passesThrough() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)

            let notFound = try await vault.proxy(["method": "GET", "url": browser.baseURL + "/sandbox/api/status/418", "grant_id": grantID])
            #expect(notFound.status == 418)
            #expect(notFound.headers.first(name: "Alter-Source") == "upstream")

            let echo = try await vault.proxy([
                "method": "POST", "url": browser.baseURL + "/sandbox/api/echo", "grant_id": grantID,
                "headers": ["Content-Type": "application/json", "X-Custom": "yes"], "body": "{\"hello\":\"world\"}",
            ])
            #expect(echo.status == 200)
            #expect(echo.json["body"] as? String == "{\"hello\":\"world\"}")
            #expect(echo.json["method"] as? String == "POST")
            #expect((echo.json["headers"] as? [String: String])?["x-custom"] == "yes")
            #expect((echo.json["authorization"] as? [String: Any])?["scheme"] as? String == "Bearer")
        }
    }

    @Test("the call's body is read as JSON whatever the media type's case and parameters; another type gets 415, a broken or plain-text body 400, and none of those is sent")
    func bodyMediaTypes() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let call = "{\"method\":\"GET\",\"url\":\"\(browser.baseURL)/sandbox/api/status/204\",\"grant_id\":\"\(grantID)\"}"
            func send(_ contentType: String, _ body: String = call) async throws -> TestBrowser.Page {
                try await browser.send(.POST, "/v1/request", headers: [("Authorization", "Bearer \(seeded.key)"), ("Content-Type", contentType)], body: body)
            }
            for type in ["application/json", "application/json; charset=utf-8", "Application/JSON", " application/json ;charset=UTF-8"] {
                #expect(try await send(type).status == 204, "\(type)")
            }
            await app.auditLog.flush()
            let audited = try await AuditEvent.query(on: app.db).filter(\.$action == .proxy).count()
            #expect(audited == 4)
            for type in ["application/jsonx", "image/png"] {
                let refused = try await send(type)
                #expect(refused.status == 415, "\(type): \(refused.status) \(refused.body)")
            }
            // A body cut short, and one sent as text (Vapor's plain-text decoder reads only a string).
            for (type, body) in [("application/json", "{\"method\":"), ("text/plain", call)] {
                let broken = try await send(type, body)
                #expect(broken.status == 400, "\(type)")
                #expect((broken.json["error"] as? [String: Any])?["code"] as? String == "invalid_request", "\(broken.body)")
            }
            await app.auditLog.flush()
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == .proxy).count() == audited)
        }
    }

    @Test("the JSON fast path takes application/json with any case and parameters, and nothing else", arguments: [
        ("application/json", true), ("APPLICATION/JSON", true), ("application/json;charset=utf-8", true), ("  application/json  ; x=y", true),
        ("application/jsonx", false), ("application/json-patch+json", false), ("text/json", false), ("application/ json", false),
        ("", false), (";application/json", false), ("application/jsoN\u{0}", false),
    ])
    func jsonMediaType(type: String, isJSON: Bool) {
        #expect(ProxyRequest.isJSON(type) == isJSON)
    }

    @Test("caller-supplied credentials and routing headers are dropped; upstream cookies do not come back")
    func headerRules() async throws {
        try await withRunningApp(routes: { app in
            app.get("upstream", "cookie") { _ -> Response in
                let response = Response(status: .ok, body: .init(string: "ok"))
                response.headers.add(name: "Set-Cookie", value: "session=provider-secret; Path=/")
                response.headers.add(name: "X-Provider", value: "kept")
                return response
            }
        }) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)

            let echo = try await vault.proxy([
                "method": "GET", "url": browser.baseURL + "/sandbox/api/echo", "grant_id": grantID,
                "headers": [
                    "Authorization": "Bearer stolen", "Cookie": "a=b", "Host": "evil.example.com", "X-Forwarded-For": "1.2.3.4",
                    "X-Forwarded-Host": "evil", "Forwarded": "for=1.2.3.4", "Proxy-Authorization": "Basic x", "Accept": "application/json",
                ],
            ])
            let received = try #require(echo.json["headers"] as? [String: String])
            #expect(received["accept"] == "application/json")
            for dropped in ["cookie", "x-forwarded-for", "x-forwarded-host", "forwarded", "proxy-authorization"] {
                #expect(received[dropped] == nil, "\(dropped)")
            }
            #expect(received["host"]?.hasPrefix("localhost") == true)
            // The token the vault injected is the grant's, not the caller's.
            let stored = try #require(try await Grant.find(UUID(uuidString: grantID), on: app.db))
            #expect((echo.json["authorization"] as? [String: Any])?["present"] as? Bool == true)
            #expect(try stored.accessToken(using: app.sealer) != "stolen")

            let cookie = try await vault.proxy(["method": "GET", "url": browser.baseURL + "/upstream/cookie", "grant_id": grantID])
            #expect(cookie.status == 200)
            #expect(cookie.headers.first(name: "Set-Cookie") == nil)
            #expect(cookie.headers.first(name: "X-Provider") == "kept")
        }
    }

    @Test("refused URLs and header values are refused before any upstream call")
    func refusals() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let base = browser.baseURL
            let port = URL(string: base)!.port!
            let before = try #require(try await vault.sandbox()["api_calls"] as? Int)

            // The tables are ProxyRulesTests; here each refusal code once through the API.
            let offHost = try await vault.proxy(["method": "GET", "url": "http://127.0.0.1:\(port)/sandbox/api/echo", "grant_id": grantID])
            #expect(offHost.status == 400)
            #expect((offHost.json["error"] as? [String: Any])?["code"] as? String == "host_not_allowed")
            #expect(offHost.headers.first(name: "Alter-Source") == "vault")
            let badHeader = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID, "headers": ["X-Bad": "a\r\nInjected: yes"]])
            #expect(badHeader.status == 400)
            #expect((badHeader.json["error"] as? [String: Any])?["code"] as? String == "invalid_request")
            let badMethod = try await vault.proxy(["method": "TRACE", "url": vault.calendarURL, "grant_id": grantID])
            #expect(badMethod.status == 400)
            #expect(try await vault.sandbox()["api_calls"] as? Int == before)
        }
    }

    @Test("a provider on the public internet may not be pointed at private addresses")
    func privateAddresses() async throws {
        try await withRunningApp { app, browser in
            // A catalog provider whose API host resolves to loopback (as a DNS trick would).
            var entry = try #require(app.providerCatalog["sandbox"])
            let httpsBase = browser.baseURL.replacingOccurrences(of: "http://", with: "https://")
            entry.id = "public-api"
            entry.allowsPrivateNetwork = false
            entry.authorizationURL = httpsBase + "/authorize"
            entry.tokenURL = httpsBase + "/token"
            entry.revocationURL = nil
            entry.userinfo = nil
            entry.issuer = nil
            entry.sendsIssuerParameter = nil
            entry.apiHosts = [httpsBase]
            app.providerCatalog = try ProviderCatalog(providers: app.providerCatalog.sorted + [entry])
            let seeded = try await seedApp(app, providers: ["sandbox", "public-api"])
            let grantID = try await storeGrant(app, appID: seeded.id, provider: "public-api", account: "someone@example.com", accessToken: "public-token")
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let before = try #require(try await vault.sandbox()["api_calls"] as? Int)

            let response = try await vault.proxy(["method": "GET", "url": httpsBase + "/sandbox/api/calendar/events", "grant_id": grantID])

            #expect(response.status == 400)
            #expect((response.json["error"] as? [String: Any])?["code"] as? String == "host_not_allowed")
            #expect((response.json["error"] as? [String: Any])?["message"] as? String == "The URL is refused: localhost resolves to a private or reserved address.")
            #expect(try await vault.sandbox()["api_calls"] as? Int == before)
        }
    }

    @Test("another app's grant answers exactly like an unknown grant")
    func otherAppsGrant() async throws {
        try await withRunningApp { app, browser in
            let owner = try await seedApp(app, providers: ["sandbox"])
            let other = try await seedApp(app, providers: ["sandbox"])
            let grantID = try await ConnectFlow(app: app, browser: browser, key: owner.key).connectGrant()
            let vault = VaultCalls(browser: browser, key: other.key)

            let foreign = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": grantID])
            let unknown = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": UUID().uuidString])
            let malformed = try await vault.proxy(["method": "GET", "url": vault.calendarURL, "grant_id": "nope"])
            // The same answer but for the request id, which is each response's own.
            func withoutRequestID(_ json: [String: Any]) -> NSDictionary? {
                var error = json["error"] as? [String: Any]
                error?["request_id"] = nil
                return error.map { $0 as NSDictionary }
            }
            for response in [foreign, unknown, malformed] {
                #expect(response.status == 404)
                #expect(withoutRequestID(response.json) == withoutRequestID(foreign.json))
            }
            #expect(try await vault.get("/v1/grants/\(grantID)").status == 404)
        }
    }

    @Test("a provider whose API takes the token in its own header gets it there, and the caller cannot set it")
    func providerTokenHeader() async throws {
        try await withRunningApp(routes: { app in
            app.get("upstream", "token-header") { request -> [String: String] in
                ["token": request.headers.first(name: "X-Shop-Token") ?? "", "authorization": request.headers.first(name: "Authorization") ?? ""]
            }
        }) { app, browser in
            var entry = try #require(app.providerCatalog["sandbox"])
            entry.id = "shop-like"
            entry.apiAuth = .init(header: "X-Shop-Token", prefix: "")
            app.providerCatalog = try ProviderCatalog(providers: app.providerCatalog.sorted + [entry])
            let seeded = try await seedApp(app, providers: ["shop-like"])
            let grantID = try await storeGrant(app, appID: seeded.id, provider: "shop-like", account: "shop@example.com", accessToken: "shop-token-123")
            let vault = VaultCalls(browser: browser, key: seeded.key)

            let response = try await vault.proxy([
                "method": "GET", "url": browser.baseURL + "/upstream/token-header", "grant_id": grantID,
                "headers": ["x-shop-token": "forged"],
            ])

            #expect(response.status == 200)
            #expect(response.json["token"] as? String == "shop-token-123")
            #expect(response.json["authorization"] as? String == "")
        }
    }
}
