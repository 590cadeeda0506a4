@testable import AlterServer
import Crypto
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// One template kind: what the operator stores, and what the service must receive.
struct InjectionCase: Sendable, CustomTestStringConvertible {
    let template: String
    let extra: [String: String]
    let value: [String: String]
    let header: (String, String)?
    let query: (String, String)?
    var testDescription: String { template }

    static let all: [InjectionCase] = [
        .init(template: "bearer", extra: [:], value: ["token": "tok-bearer-1"], header: ("authorization", "Bearer tok-bearer-1"), query: nil),
        .init(template: "api_key_header", extra: ["header": "X-Service-Key"], value: ["token": "tok-header-2"], header: ("x-service-key", "tok-header-2"), query: nil),
        .init(template: "api_key_query", extra: ["query_parameter": "api_key"], value: ["token": "tok+query/3="], header: nil, query: ("api_key", "tok+query/3=")),
        .init(
            template: "basic", extra: [:], value: ["username": "AC123", "password": "pw-basic-4"],
            header: ("authorization", "Basic " + Data("AC123:pw-basic-4".utf8).base64EncodedString()), query: nil),
        .init(template: "custom", extra: ["header": "Authorization", "format": "Token token={token}"], value: ["token": "tok-custom-5"], header: ("authorization", "Token token=tok-custom-5"), query: nil),
    ]
}

@Suite("Managed secrets through /v1")
struct ManagedSecretsTests {
    @Test("a secret of each template kind reaches the service where its template says", arguments: TestDatabase.all, InjectionCase.all)
    func injects(database: TestDatabase, kind: InjectionCase) async throws {
        let echo = EchoRecorder()
        try await withRunningApp(database: database, routes: echo.mount) { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            var body: [String: any Sendable] = ["name": "Service \(kind.template)", "template": kind.template, "value": kind.value]
            for (name, value) in kind.extra { body[name] = value }
            let (_, grantID) = try await calls.echoSecret(body)

            // The caller's own credential header is dropped, its other headers pass.
            let response = try await calls.call(grantID, path: "/echo-service/v1/things?page=2", extra: ["headers": ["Accept": "application/json", "Authorization": "Bearer stolen"]])

            #expect(response.status == 200, "\(response.body)")
            #expect(response.headers.first(name: "Alter-Grant-Id") == grantID)
            let seen = try #require(await echo.calls.last)
            if let (name, value) = kind.header { #expect(seen.headers[name] == value) }
            if kind.header?.0 != "authorization" { #expect(seen.headers["authorization"] == nil) }
            if let (name, value) = kind.query { #expect(seen.query[name] == value) } else { #expect(seen.query.keys.sorted() == ["page"]) }
            #expect(seen.query["page"] == "2")
            #expect(seen.headers["accept"] == "application/json")
        }
    }

    @Test("Datadog's template sends the API key and the application key in their own headers, only to Datadog's hosts")
    func datadog() async throws {
        let echo = EchoRecorder()
        try await withRunningApp(routes: echo.mount) { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let refused = try await calls.create(["name": "DD", "template": "datadog", "value": ["token": "dd-api", "application_key": "dd-app"]])
            #expect(refused.status == 201)
            #expect(refused.json["allowed_hosts"] as? [String] == ["https://api.ap1.datadoghq.com", "https://api.datadoghq.com", "https://api.datadoghq.eu", "https://api.us3.datadoghq.com", "https://api.us5.datadoghq.com"])

            let (_, grantID) = try await calls.echoSecret(["name": "DD echo", "template": "datadog", "value": ["token": "dd-api", "application_key": "dd-app"]])
            #expect(try await calls.call(grantID).status == 200)
            let seen = try #require(await echo.calls.last)
            #expect(seen.headers["dd-api-key"] == "dd-api")
            #expect(seen.headers["dd-application-key"] == "dd-app")
        }
    }

    @Test("a URL outside the secret's allowed hosts is refused and the service sees nothing", arguments: TestDatabase.all)
    func refusesOtherHosts(database: TestDatabase) async throws {
        let echo = EchoRecorder()
        try await withRunningApp(database: database, routes: echo.mount) { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let (_, grantID) = try await calls.echoSecret(["name": "Echo", "template": "bearer", "value": ["token": "tok-hosts"]])
            let other = browser.baseURL.replacingOccurrences(of: "localhost", with: "127.0.0.1")

            for url in [other + "/echo-service/x", "https://api.openai.com/v1/models", browser.baseURL + "@evil.example.com/", "http://localhost:1/x"] {
                let response = try await browser.postJSON("/v1/request", ["method": "GET", "url": url, "grant_id": grantID], headers: calls.auth)
                #expect(response.status == 400, "\(url)")
                #expect(response.errorCode == "host_not_allowed", "\(url)")
            }
            #expect(await echo.calls.isEmpty)
        }
    }

    @Test("a secret on a public host is not sent to a private address, even when the name is listed")
    func refusesPrivateAddressesByDefault() async throws {
        let echo = EchoRecorder()
        try await withRunningApp(routes: echo.mount) { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let created = try await calls.create(["name": "Local", "template": "bearer", "allowed_hosts": ["https://localhost"], "value": ["token": "tok-private"]])
            let id = try #require(created.json["id"] as? String)
            let grant = try await browser.postJSON("/v1/secrets/\(id)/grants", ["principal": ["type": "system"]], headers: calls.auth)
            let grantID = try #require(grant.json["grant_id"] as? String)

            let response = try await browser.postJSON("/v1/request", ["method": "GET", "url": "https://localhost/echo-service/x", "grant_id": grantID], headers: calls.auth)

            #expect(response.status == 400)
            #expect(response.errorCode == "host_not_allowed")
            #expect(await echo.calls.isEmpty)
        }
    }

    @Test("rotation replaces the value at once, keeps the grant_id and is audited; the value is never returned", arguments: TestDatabase.all)
    func rotates(database: TestDatabase) async throws {
        let echo = EchoRecorder()
        try await withRunningApp(database: database, routes: echo.mount) { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let (id, grantID) = try await calls.echoSecret(["name": "Echo", "template": "bearer", "value": ["token": "old-value-111"]])
            #expect(try await calls.call(grantID).status == 200)

            let rotated = try await calls.put("/v1/secrets/\(id)/value", ["value": ["token": "new-value-222"]])
            #expect(rotated.status == 200, "\(rotated.body)")
            #expect(rotated.json["rotated_at"] is String)

            #expect(try await calls.call(grantID).status == 200)
            let headers = await echo.calls.map { $0.headers["authorization"] }
            #expect(headers == ["Bearer old-value-111", "Bearer new-value-222"])

            // Never returned, never stored in the clear.
            for path in ["/v1/secrets", "/v1/secrets/\(id)", "/v1/secrets/\(id)/grants", "/v1/audit"] {
                let page = try await browser.get(path, headers: calls.auth)
                #expect(page.status == 200)
                #expect(!page.body.contains("value-111") && !page.body.contains("value-222"), "\(path)")
            }
            let stored = try #require(try await ManagedSecret.find(UUID(uuidString: id), on: app.db))
            #expect(!stored.sealedValue.contains("value-222"))
            #expect(try stored.value(using: app.sealer).token == "new-value-222")

            let audit = try await browser.get("/v1/audit", headers: calls.auth).json["events"] as? [[String: Any]] ?? []
            #expect(audit.contains { $0["action"] as? String == "secret_rotated" && ($0["context"] as? [String: String])?["managed_secret_id"] == id })
        }
    }

    @Test("a grant past its policy's expiry answers grant_expired; a revoked one grant_revoked; neither reaches the service")
    func policyAndRevocation() async throws {
        let echo = EchoRecorder()
        try await withRunningApp(routes: echo.mount) { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let (id, _) = try await calls.echoSecret(["name": "Echo", "template": "bearer", "value": ["token": "tok-policy"]])
            let limited = try await browser.postJSON(
                "/v1/secrets/\(id)/grants", ["principal": ["type": "system", "label": "cron"], "grant_policy": ["max_ttl_seconds": 3600, "default_ttl_seconds": 60]],
                headers: calls.auth)
            #expect(limited.status == 201, "\(limited.body)")
            #expect(limited.json["label"] as? String == "cron")
            let limitedID = try #require(limited.json["grant_id"] as? String)
            #expect(try await calls.call(limitedID).status == 200)

            app.clock = VaultClock(now: { Date().addingTimeInterval(61) })
            let expired = try await calls.call(limitedID)
            #expect(expired.status == 403)
            #expect(expired.errorCode == "grant_expired")
            app.clock = .system

            let other = try await browser.postJSON("/v1/secrets/\(id)/grants", ["principal": ["type": "system"]], headers: calls.auth)
            let otherID = try #require(other.json["grant_id"] as? String)
            let revoked = try await browser.send(.DELETE, "/v1/secrets/\(id)/grants/\(otherID)", headers: calls.auth, body: nil)
            #expect(revoked.json["status"] as? String == "revoked")
            let afterRevoke = try await calls.call(otherID)
            #expect(afterRevoke.status == 410)
            #expect(afterRevoke.errorCode == "grant_revoked")
            #expect(await echo.calls.count == 1)
        }
    }

    @Test("a user's grant is theirs: another user's token, or another app, finds nothing")
    func userPrincipal() async throws {
        let echo = EchoRecorder()
        try await withRunningApp(routes: echo.mount) { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let issuer = TestIssuer()
            try await issuer.configure(seeded.app, on: app.db)
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let created = try await calls.create([
                "name": "Echo", "template": "bearer", "allowed_hosts": [calls.echoOrigin], "allow_private_network": true, "value": ["token": "tok-user"],
            ])
            let id = try #require(created.json["id"] as? String)
            let alice = try await issuer.token(sub: "alice")
            let grant = try await browser.postJSON("/v1/secrets/\(id)/grants", ["principal": ["type": "user", "user_token": alice, "label": "alice"]], headers: calls.auth)
            #expect(grant.status == 201, "\(grant.body)")
            #expect(grant.json["principal_type"] as? String == "user")
            let grantID = try #require(grant.json["grant_id"] as? String)

            #expect(try await calls.call(grantID, extra: ["user_token": alice]).status == 200)
            let bob = try await calls.call(grantID, extra: ["user_token": try await issuer.token(sub: "bob")])
            #expect(bob.status == 404)
            #expect(bob.errorCode == "grant_not_found")

            let stranger = try await seedApp(app, providers: [])
            let foreign = try await browser.postJSON("/v1/request", ["method": "GET", "url": browser.baseURL + "/echo-service/x", "grant_id": grantID], headers: [("Authorization", "Bearer \(stranger.key)")])
            #expect(foreign.status == 404)
            #expect(foreign.errorCode == "grant_not_found")
            #expect(await echo.calls.count == 1)
        }
    }

    @Test("a grant to an agent serves that agent's key only; another agent, and the agent on the app's grant, find nothing", arguments: TestDatabase.all)
    func agentPrincipal(database: TestDatabase) async throws {
        let echo = EchoRecorder()
        try await withRunningApp(database: database, routes: echo.mount) { app, browser in
            let seeded = try await seedApp(app, providers: [], agents: ["billing-bot", "other-bot"])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let (id, systemGrant) = try await calls.echoSecret(["name": "Echo", "template": "bearer", "value": ["token": "tok-agent"]])
            let grant = try await browser.postJSON("/v1/secrets/\(id)/grants", ["principal": ["type": "agent", "agent_id": "billing-bot"]], headers: calls.auth)
            #expect(grant.status == 201, "\(grant.body)")
            #expect(grant.json["principal_type"] as? String == "agent")
            let agentGrant = try #require(grant.json["grant_id"] as? String)
            let agents = try await Agent.query(on: app.db).all()
            let billing = try #require(agents.first { $0.name == "billing-bot" })
            let other = try #require(agents.first { $0.name == "other-bot" })
            #expect(grant.json["agent_id"] as? String == billing.id?.uuidString.lowercased())
            let (billingKey, billingSecret) = try APIKey.make(for: billing, name: "k1")
            try await billingKey.create(on: app.db)
            let (otherKey, otherSecret) = try APIKey.make(for: other, name: "k1")
            try await otherKey.create(on: app.db)

            func call(_ grantID: String, key: String) async throws -> TestBrowser.Page {
                try await browser.postJSON(
                    "/v1/request", ["method": "GET", "url": browser.baseURL + "/echo-service/x", "grant_id": grantID], headers: [("Authorization", "Bearer \(key)")])
            }
            #expect(try await call(agentGrant, key: billingSecret).status == 200)
            #expect(try await call(agentGrant, key: otherSecret).errorCode == "grant_not_found")
            #expect(try await call(systemGrant, key: billingSecret).errorCode == "grant_not_found")
            // The app may use every grant it holds, its agents' included.
            #expect(try await calls.call(agentGrant).status == 200)
            #expect(await echo.calls.count == 2)
            // Agent keys cannot manage secrets.
            let refused = try await browser.get("/v1/secrets", headers: [("Authorization", "Bearer \(billingSecret)")])
            #expect(refused.status == 403)
        }
    }

    @Test("bad input gets invalid_request with a message that names the field, and nothing is stored", arguments: TestDatabase.all)
    func rejectsBadInput(database: TestDatabase) async throws {
        try await withRunningApp(database: database) { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let good: [String: any Sendable] = ["name": "Echo", "template": "bearer", "allowed_hosts": ["https://api.example.com"], "value": ["token": "tok-ok"]]
            let bad: [(String, [String: any Sendable], String)] = [
                ("template", ["template": "nope"], "template must be one of"),
                ("value", ["value": NSNull()], "value is required"),
                ("value field", ["value": ["token": "x", "extra": "y"]], "value.extra is not a field"),
                ("CR in value", ["value": ["token": "a\r\nX-Evil: 1"]], "control characters"),
                ("http host", ["allowed_hosts": ["http://api.example.com"]], "needs allow_private_network"),
                ("path in host", ["allowed_hosts": ["https://api.example.com/v1"]], "is not an origin"),
                ("no hosts", ["allowed_hosts": [String]()], "allowed_hosts is required"),
                ("header on openai", ["template": "openai", "header": "X-Key"], "set by the openai template"),
                ("forbidden header", ["template": "api_key_header", "header": "Cookie"], "cannot carry a credential"),
                ("format", ["template": "custom", "header": "X-Key", "format": "Token"], "must contain {token}"),
                ("basic colon", ["template": "basic", "value": ["username": "a:b", "password": "p"]], "may not contain ':'"),
                ("slug", ["slug": "Not A Slug"], "slug must be"),
            ]
            for (label, change, message) in bad {
                var body = good
                body.merge(change) { $1 }
                let response = try await calls.create(body)
                #expect(response.status == 400, "\(label)")
                #expect(response.errorCode == "invalid_request", "\(label)")
                #expect(response.errorMessage?.contains(message) == true, "\(label): \(response.errorMessage ?? "")")
                #expect(response.body.contains("tok-ok") == false, "\(label)")
            }
            #expect(try await ManagedSecret.query(on: app.db).count() == 0)

            let created = try await calls.create(good)
            let id = try #require(created.json["id"] as? String)
            let badGrants: [(String, [String: any Sendable], Int, String)] = [
                ("no principal", [:], 400, "invalid_request"),
                ("unknown type", ["principal": ["type": "robot"]], 400, "invalid_request"),
                ("user without token", ["principal": ["type": "user"]], 400, "invalid_request"),
                ("policy key", ["principal": ["type": "system"], "grant_policy": ["maxTtlSeconds": 5]], 400, "invalid_request"),
                ("default over max", ["principal": ["type": "system"], "grant_policy": ["max_ttl_seconds": 5, "default_ttl_seconds": 6]], 400, "invalid_request"),
                ("past expiry", ["principal": ["type": "system"], "grant_policy": ["expires_at": "2001-01-01T00:00:00Z"]], 400, "invalid_request"),
                ("unknown agent", ["principal": ["type": "agent", "agent_id": UUID().uuidString]], 404, "agent_not_found"),
            ]
            for (label, body, status, code) in badGrants {
                let response = try await browser.postJSON("/v1/secrets/\(id)/grants", body, headers: calls.auth)
                #expect(response.status == status, "\(label): \(response.body)")
                #expect(response.errorCode == code, "\(label)")
            }
            #expect(try await SecretGrant.query(on: app.db).count() == 0)
            let rotate = try await calls.put("/v1/secrets/\(id)/value", ["value": ["token": ""]])
            #expect(rotate.status == 400)
            #expect(try await ManagedSecret.find(UUID(uuidString: id), on: app.db)?.value(using: app.sealer).token == "tok-ok")
        }
    }

    @Test("re-encrypting with a new key covers managed secrets, and the start-up check knows their key")
    func keyRotation() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: [])
            let calls = SecretCalls(browser: browser, key: seeded.key)
            let created = try await calls.create(["name": "Echo", "template": "bearer", "allowed_hosts": ["https://api.example.com"], "value": ["token": "tok-ring"]])
            let raw = try #require(created.json["id"] as? String)
            let id = try #require(UUID(uuidString: raw))
            let old = try EncryptionKeys.load(configuration: app.alterConfiguration)

            let fresh = Sealer.Key(id: "next", key: SymmetricKey(size: .bits256))
            let both = try Sealer(keys: [fresh] + old)
            let report = try await SecretRotation.reencryptAll(db: app.db, sealer: both)
            #expect(report.managedSecrets == 1)

            let onlyNew = try Sealer(keys: [fresh])
            let secret = try #require(try await ManagedSecret.find(id, on: app.db))
            #expect(try secret.value(using: onlyNew).token == "tok-ring")
            try await SealedSecretsCheck.verifyAllKeysPresent(db: app.db, sealer: onlyNew)
            await #expect(throws: ConfigurationError.self) { try await SealedSecretsCheck.verifyAllKeysPresent(db: app.db, sealer: try Sealer(keys: old)) }
        }
    }
}
