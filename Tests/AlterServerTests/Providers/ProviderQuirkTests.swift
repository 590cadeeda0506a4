@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOHTTP1
import Testing
import Vapor

/// Each quirk family against a local double that speaks exactly that quirk, through the
/// real Connect flow: browser → Connect UI → double's authorize → callback → token
/// exchange → userinfo → stored grant.
@Suite("Provider quirks, end to end against provider doubles")
struct ProviderQuirkTests {
    static func grant(_ app: Application) async throws -> Grant {
        try #require(try await Grant.query(on: app.db).first(), "no grant was stored")
    }

    @Test("Slack: user_scope on the way out, the user token from authed_user on the way back")
    func slack() async throws {
        try await withProviderDoubles({ app, base, log in
            let slack = try ProviderDouble("slack", app: app, base: base, log: log)
            slack.token { request in
                guard request.form["client_secret"] == "secret-slack", request.form["grant_type"] == "authorization_code" else {
                    return ProviderDouble.json(["ok": false, "error": "invalid_client"])
                }
                return ProviderDouble.json([
                    "ok": true, "app_id": "A1", "access_token": "xoxb-bot-token", "token_type": "bot", "scope": "commands",
                    "bot_user_id": "B1", "team": ["id": "T1", "name": "Acme"],
                    "authed_user": ["id": "U123", "scope": "users:read,chat:write", "access_token": "xoxp-user-token", "token_type": "user"],
                ])
            }
            slack.userinfo { request in
                request.headers.first(name: "Authorization") == "Bearer xoxp-user-token"
                    ? ProviderDouble.json(["ok": true, "user": "alice", "user_id": "U123", "team_id": "T1"])
                    : ProviderDouble.json(["ok": false, "error": "invalid_auth"])
            }
            return [slack.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["slack"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("slack")

            #expect(try await flow.outcome(token).status == "completed")
            let authorize = try #require(log.last("/oauth/v2/authorize"))
            #expect(authorize.query["user_scope"] == "users:read")
            #expect(authorize.query["scope"] == nil)
            let grant = try await Self.grant(app)
            #expect(grant.accountIdentifier == "U123")
            #expect(grant.accountDisplayName == "alice")
            #expect(try grant.accessToken(using: app.sealer) == "xoxp-user-token")
            #expect(grant.scopes == ["users:read", "chat:write"])
            #expect(grant.expiresAt == nil)
            #expect(try grant.refreshToken(using: app.sealer) == nil)
        }
    }

    @Test("Slack: ok:false from oauth.v2.access is a provider error and stores nothing")
    func slackNotOK() async throws {
        try await withProviderDoubles({ app, base, log in
            let slack = try ProviderDouble("slack", app: app, base: base, log: log)
            slack.token { _ in ProviderDouble.json(["ok": false, "error": "invalid_code"]) }
            return [slack.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["slack"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("slack")
            let outcome = try await flow.outcome(token)
            #expect(outcome.status == "failed")
            #expect(outcome.code == "oauth_provider_error")
            #expect(outcome.details["error"] == "invalid_code")
            #expect(try await Grant.query(on: app.db).count() == 0)
            #expect(log.last("auth.test") == nil)
        }
    }

    @Test("GitHub: Accept + User-Agent sent, a form-encoded answer read, comma scopes split, no expiry")
    func github() async throws {
        try await withProviderDoubles({ app, base, log in
            let github = try ProviderDouble("github", app: app, base: base, log: log)
            github.token { request in
                // GitHub answers form-encoded unless asked for JSON; this double always does,
                // to prove the vault reads both.
                guard request.headers.first(name: "Accept")?.contains("application/json") == true else {
                    return ProviderDouble.raw("error=not_json", contentType: "text/plain")
                }
                return ProviderDouble.raw(
                    "access_token=gho_abc123&scope=repo%2Cread%3Auser&token_type=bearer",
                    contentType: "application/x-www-form-urlencoded; charset=utf-8")
            }
            github.userinfo { request in
                // api.github.com refuses requests without a User-Agent.
                guard let agent = request.headers.first(name: "User-Agent"), !agent.isEmpty else {
                    return ProviderDouble.json(["message": "Request forbidden by administrative rules."], status: .forbidden)
                }
                return ProviderDouble.json(["login": "octocat", "id": 1, "email": "octo@example.com", "name": "The Octocat"])
            }
            return [github.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["github"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("github")

            #expect(try await flow.outcome(token).status == "completed")
            let exchange = try #require(log.last("/login/oauth/access_token"))
            #expect(exchange.form["code_verifier"]?.count == 43)
            #expect(exchange.form["client_id"] == "client-github")
            let grant = try await Self.grant(app)
            #expect(grant.accountIdentifier == "octocat")
            #expect(grant.accountEmail == "octo@example.com")
            #expect(try grant.accessToken(using: app.sealer) == "gho_abc123")
            #expect(grant.scopes == ["repo", "read:user"])
            #expect(grant.expiresAt == nil)
        }
    }

    @Test("GitHub: 200 with an error body is a provider error and stores nothing")
    func githubErrorWith200() async throws {
        try await withProviderDoubles({ app, base, log in
            let github = try ProviderDouble("github", app: app, base: base, log: log)
            github.token { _ in
                ProviderDouble.json(["error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."])
            }
            return [github.entry]
        }) { app, browser, _ in
            let seeded = try await seedApp(app, providers: ["github"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, finish) = try await flow.connectThroughDouble("github")
            let outcome = try await flow.outcome(token)
            #expect(outcome.code == "oauth_provider_error")
            #expect(outcome.details["error"] == "bad_verification_code")
            #expect(finish.body.contains("bad_verification_code"))
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }

    @Test("Notion: Basic auth + JSON body, no scope parameter, Notion-Version on the identity call")
    func notion() async throws {
        try await withProviderDoubles({ app, base, log in
            let notion = try ProviderDouble("notion", app: app, base: base, log: log)
            notion.token { request in
                let basic = "Basic " + Data("client-notion:secret-notion".utf8).base64EncodedString()
                guard request.headers.first(name: "Authorization") == basic,
                    request.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true,
                    request.json["grant_type"] as? String == "authorization_code", request.json["client_secret"] == nil
                else { return ProviderDouble.json(["error": "invalid_client"], status: .unauthorized) }
                return ProviderDouble.json([
                    "access_token": "ntn_secret", "token_type": "bearer", "refresh_token": "nrt_1", "bot_id": "bot-1",
                    "workspace_id": "ws-1", "workspace_name": "Acme HQ",
                    "owner": ["type": "user", "user": ["id": "u-1", "person": ["email": "alice@acme.test"]]],
                ])
            }
            notion.userinfo { request in
                guard request.headers.first(name: "Notion-Version") == "2022-06-28" else {
                    return ProviderDouble.json(["object": "error", "code": "missing_version"], status: .badRequest)
                }
                return ProviderDouble.json([
                    "object": "user", "id": "bot-1", "type": "bot",
                    "bot": ["owner": ["type": "user", "user": ["id": "u-1", "person": ["email": "alice@acme.test"]]], "workspace_name": "Acme HQ"],
                ])
            }
            return [notion.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["notion"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("notion")

            #expect(try await flow.outcome(token).status == "completed")
            let authorize = try #require(log.last("/v1/oauth/authorize"))
            #expect(authorize.query["scope"] == nil)
            #expect(authorize.query["owner"] == "user")
            let exchange = try #require(log.last("/v1/oauth/token"))
            // PKCE is sent to every provider not known to reject it (docs/providers.md, PKCE).
            #expect(Set(exchange.json.keys) == ["grant_type", "code", "redirect_uri", "code_verifier"])
            let grant = try await Self.grant(app)
            #expect(grant.accountIdentifier == "bot-1")
            #expect(grant.accountEmail == "alice@acme.test")
            #expect(grant.accountDisplayName == "Acme HQ")
            #expect(try grant.refreshToken(using: app.sealer) == "nrt_1")
        }
    }

    @Test("Microsoft: the configured tenant goes into the authorization and token URL paths")
    func microsoftTenant() async throws {
        try await withProviderDoubles({ app, base, log in
            let microsoft = try ProviderDouble("microsoft", app: app, base: base, log: log)
            microsoft.token { request in
                guard request.path.contains("/organizations/oauth2/v2.0/token") else { return ProviderDouble.json(["error": "invalid_tenant"], status: .badRequest) }
                return ProviderDouble.json([
                    "token_type": "Bearer", "scope": "openid email profile offline_access User.Read", "expires_in": 3599,
                    "access_token": "eyJ0-access", "refresh_token": "M.R3_refresh",
                ])
            }
            microsoft.userinfo { _ in ProviderDouble.json(["userPrincipalName": "alice@contoso.com", "mail": "alice@contoso.com", "displayName": "Alice"]) }
            return [microsoft.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["microsoft"])
            try await updateConfig(app, provider: "microsoft", variables: ["tenant": "organizations"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let before = Date()
            let (token, _) = try await flow.connectThroughDouble("microsoft")

            #expect(try await flow.outcome(token).status == "completed")
            #expect(log.last("/oauth2/v2.0/authorize")?.path.contains("/login.microsoftonline.com/organizations/") == true)
            let grant = try await Self.grant(app)
            #expect(grant.accountIdentifier == "alice@contoso.com")
            #expect(try grant.refreshToken(using: app.sealer) == "M.R3_refresh")
            let expiresAt = try #require(grant.expiresAt)
            #expect(abs(expiresAt.timeIntervalSince(before) - 3599) < 30)
        }
    }

    @Test("a provider config without its URL variable stops at an error page, before any request to the provider")
    func missingTenant() async throws {
        try await withProviderDoubles({ app, base, log in
            [try ProviderDouble("microsoft", app: app, base: base, log: log).entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["microsoft"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let start = try await flow.open(try await flow.mint(["allowed_providers": ["microsoft"], "allowed_origin": "http://localhost:4001"]))
            let page = try await browser.get(try #require(start.scriptData["next"] as? String))
            #expect(page.status == 400)
            #expect(page.body.contains("not set up completely"))
            #expect(log.all.isEmpty)
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }

    @Test("Salesforce: instance_url from the token response is checked and stored with the grant")
    func salesforceInstanceURL() async throws {
        try await withProviderDoubles({ app, base, log in
            let salesforce = try ProviderDouble("salesforce", app: app, base: base, log: log)
            salesforce.token { _ in
                ProviderDouble.json([
                    "access_token": "00Dxx!AQ4", "refresh_token": "5Aep_refresh", "instance_url": "https://acme.my.salesforce.com",
                    "id": "https://login.salesforce.com/id/00D/005", "token_type": "Bearer", "issued_at": "1700000000000",
                ])
            }
            salesforce.userinfo { _ in ProviderDouble.json(["preferred_username": "alice@acme.com", "email": "alice@acme.com", "name": "Alice"]) }
            return [salesforce.entry]
        }) { app, browser, _ in
            let seeded = try await seedApp(app, providers: ["salesforce"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("salesforce")
            #expect(try await flow.outcome(token).status == "completed")
            let grant = try await Self.grant(app)
            #expect(grant.variables == ["instance_url": "https://acme.my.salesforce.com"])
            #expect(grant.accountIdentifier == "alice@acme.com")
        }
    }

    @Test(
        "Salesforce: an instance_url off the allowed domain, or none, stores nothing",
        arguments: [
            "https://evil.example.com", "https://acme.my.salesforce.com.evil.com", "http://acme.my.salesforce.com",
            "https://acme.my.salesforce.com/path", "https://user@acme.my.salesforce.com", "https://ACME.my.salesforce.com", "",
        ])
    func salesforceBadInstanceURL(instanceURL: String) async throws {
        try await withProviderDoubles({ app, base, log in
            let salesforce = try ProviderDouble("salesforce", app: app, base: base, log: log)
            salesforce.token { _ in
                var body: [String: Any] = ["access_token": "00Dxx!AQ4", "token_type": "Bearer"]
                if !instanceURL.isEmpty { body["instance_url"] = instanceURL }
                return ProviderDouble.json(body)
            }
            salesforce.userinfo { _ in ProviderDouble.json(["preferred_username": "alice@acme.com"]) }
            return [salesforce.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["salesforce"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("salesforce")
            let outcome = try await flow.outcome(token)
            #expect(outcome.code == "oauth_provider_error")
            #expect(outcome.details["error"] == "invalid_token_response")
            #expect(try await Grant.query(on: app.db).count() == 0)
            #expect(log.last("/services/oauth2/userinfo") == nil)
        }
    }

    @Test("Shopify: the shop in every URL, comma scopes, a GraphQL identity call with X-Shopify-Access-Token")
    func shopify() async throws {
        try await withProviderDoubles({ app, base, log in
            let shopify = try ProviderDouble("shopify", app: app, base: base, log: log)
            shopify.token { request in
                guard request.path.contains("/acme-store.myshopify.com/admin/oauth/access_token") else {
                    return ProviderDouble.json(["error": "wrong_shop"], status: .notFound)
                }
                return ProviderDouble.json(["access_token": "shpat_abc", "scope": "read_products,write_orders"])
            }
            let body = try #require(shopify.entry.userinfo?.body)
            shopify.userinfo { request in
                guard request.headers.first(name: "X-Shopify-Access-Token") == "shpat_abc", request.headers.first(name: "Authorization") == nil,
                    request.headers.first(name: "Content-Type") == "application/json", request.body == body
                else { return ProviderDouble.json(["errors": "[API] Invalid API key or access token"], status: .unauthorized) }
                return ProviderDouble.json([
                    "data": ["shop": ["id": "gid://shopify/Shop/1", "name": "Acme Store", "email": "owner@acme.test", "myshopifyDomain": "acme-store.myshopify.com"]],
                ])
            }
            return [shopify.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["shopify"])
            try await updateConfig(app, provider: "shopify", scopes: ["read_products", "write_orders"], variables: ["shop": "acme-store"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("shopify")

            #expect(try await flow.outcome(token).status == "completed")
            let authorize = try #require(log.last("/admin/oauth/authorize"))
            #expect(authorize.path.contains("/acme-store.myshopify.com/"))
            #expect(authorize.query["scope"] == "read_products,write_orders")
            let grant = try await Self.grant(app)
            #expect(grant.accountIdentifier == "acme-store.myshopify.com")
            #expect(grant.accountDisplayName == "Acme Store")
            #expect(grant.scopes == ["read_products", "write_orders"])
        }
    }

    @Test("Linear: the identity call is a GraphQL POST; a GraphQL error stores nothing", arguments: [true, false])
    func linearGraphQL(answers: Bool) async throws {
        try await withProviderDoubles({ app, base, log in
            let linear = try ProviderDouble("linear", app: app, base: base, log: log)
            linear.token { _ in ProviderDouble.json(["access_token": "lin_oauth_1", "token_type": "Bearer", "expires_in": 86399, "scope": "read"]) }
            linear.userinfo { request in
                guard answers, request.json["query"] as? String == "{ viewer { id name email } }" else {
                    return ProviderDouble.json(["errors": [["message": "Authentication required"]]])
                }
                return ProviderDouble.json(["data": ["viewer": ["id": "v-1", "name": "Alice", "email": "alice@linear.test"]]])
            }
            return [linear.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["linear"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("linear")
            #expect(log.last("/graphql")?.method == "POST")
            if answers {
                #expect(try await flow.outcome(token).status == "completed")
                #expect(try await Self.grant(app).accountIdentifier == "alice@linear.test")
            } else {
                let outcome = try await flow.outcome(token)
                #expect(outcome.code == "oauth_provider_error")
                #expect(outcome.details["error"] == "userinfo_failed")
                #expect(try await Grant.query(on: app.db).count() == 0)
            }
        }
    }

    @Test("Dropbox: the identity call is a POST with no body and no Content-Type")
    func dropboxPost() async throws {
        try await withProviderDoubles({ app, base, log in
            let dropbox = try ProviderDouble("dropbox", app: app, base: base, log: log)
            dropbox.token { _ in ProviderDouble.json(["access_token": "sl.abc", "token_type": "bearer", "expires_in": 14400, "refresh_token": "rt", "account_id": "dbid:1"]) }
            dropbox.userinfo { request in
                guard request.body.isEmpty, request.headers.first(name: "Content-Type") == nil else {
                    return ProviderDouble.raw("Error in call to API function: request body: could not decode input as JSON", status: .badRequest, contentType: "text/plain")
                }
                return ProviderDouble.json(["account_id": "dbid:1", "email": "alice@dropbox.test", "name": ["display_name": "Alice"]])
            }
            return [dropbox.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["dropbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("dropbox")
            #expect(try await flow.outcome(token).status == "completed")
            #expect(log.last("/authorize")?.query["token_access_type"] == "offline")
            let grant = try await Self.grant(app)
            #expect(grant.accountIdentifier == "alice@dropbox.test")
            #expect(grant.accountDisplayName == "Alice")
        }
    }

    @Test("Atlassian: audience and prompt on the authorization URL, client credentials in a JSON body")
    func atlassian() async throws {
        try await withProviderDoubles({ app, base, log in
            let atlassian = try ProviderDouble("atlassian", app: app, base: base, log: log)
            atlassian.token { request in
                guard request.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true,
                    request.json["client_id"] as? String == "client-atlassian", request.json["client_secret"] as? String == "secret-atlassian",
                    request.headers.first(name: "Authorization") == nil
                else { return ProviderDouble.json(["error": "access_denied"], status: .forbidden) }
                return ProviderDouble.json(["access_token": "atl-at", "token_type": "Bearer", "refresh_token": "atl-rt", "expires_in": 3600, "scope": "read:me offline_access"])
            }
            atlassian.userinfo { _ in ProviderDouble.json(["account_id": "557058:abc", "email": "alice@atlassian.test", "name": "Alice"]) }
            return [atlassian.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["atlassian"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("atlassian")
            #expect(try await flow.outcome(token).status == "completed")
            let authorize = try #require(log.last("/authorize"))
            #expect(authorize.query["audience"] == "api.atlassian.com")
            #expect(authorize.query["prompt"] == "consent")
            #expect(authorize.query["scope"] == "read:me offline_access")
            #expect(try await Self.grant(app).scopes == ["read:me", "offline_access"])
        }
    }

    @Test("Mailchimp: dc read from the metadata response (Authorization: OAuth) and stored with the grant")
    func mailchimpUserinfoVariable() async throws {
        try await withProviderDoubles({ app, base, log in
            let mailchimp = try ProviderDouble("mailchimp", app: app, base: base, log: log)
            mailchimp.token { _ in ProviderDouble.json(["access_token": "mc-token", "expires_in": 0, "scope": NSNull()]) }
            mailchimp.userinfo { request in
                guard request.headers.first(name: "Authorization") == "OAuth mc-token" else { return ProviderDouble.json([String: String](), status: .unauthorized) }
                return ProviderDouble.json(["dc": "us6", "accountname": "Acme", "login": ["email": "alice@mc.test"], "api_endpoint": "https://us6.api.mailchimp.com"])
            }
            return [mailchimp.entry]
        }) { app, browser, _ in
            let seeded = try await seedApp(app, providers: ["mailchimp"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("mailchimp")
            #expect(try await flow.outcome(token).status == "completed")
            let grant = try await Self.grant(app)
            #expect(grant.variables == ["dc": "us6"])
            #expect(grant.accountIdentifier == "alice@mc.test")
            #expect(grant.expiresAt == nil)
        }
    }

    @Test(
        "DocuSign: base_uri of the default account from userinfo; a base_uri off docusign.net stores nothing",
        arguments: [("https://na3.docusign.net", true), ("https://na3.docusign.net.evil.com", false), ("https://evil.example.com", false)])
    func docusignUserinfoVariable(baseURI: String, accepted: Bool) async throws {
        try await withProviderDoubles({ app, base, log in
            let docusign = try ProviderDouble("docusign", app: app, base: base, log: log)
            docusign.token { _ in ProviderDouble.json(["access_token": "ds-at", "token_type": "Bearer", "refresh_token": "ds-rt", "expires_in": 28800]) }
            docusign.userinfo { _ in
                ProviderDouble.json([
                    "sub": "s-1", "email": "alice@docusign.test", "name": "Alice",
                    "accounts": [
                        ["account_id": "1", "is_default": false, "base_uri": "https://na1.docusign.net"],
                        ["account_id": "2", "is_default": true, "base_uri": baseURI],
                    ],
                ])
            }
            return [docusign.entry]
        }) { app, browser, _ in
            let seeded = try await seedApp(app, providers: ["docusign"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("docusign")
            if accepted {
                #expect(try await flow.outcome(token).status == "completed")
                #expect(try await Self.grant(app).variables == ["base_uri": baseURI])
            } else {
                #expect(try await flow.outcome(token).details["error"] == "userinfo_failed")
                #expect(try await Grant.query(on: app.db).count() == 0)
            }
        }
    }

    @Test(
        "a malformed, oversized or failing token response stores nothing and reports why",
        arguments: [
            ("oversized", "response_too_large"), ("html", "invalid_token_response"), ("no-token", "invalid_token_response"),
            ("huge-token", "invalid_token_response"), ("server-error", "server_error"), ("bare-500", "http_500"),
        ])
    func malformedTokenResponses(kind: String, expected: String) async throws {
        try await withProviderDoubles({ app, base, log in
            let gitlab = try ProviderDouble("gitlab", app: app, base: base, log: log)
            gitlab.token { _ in
                switch kind {
                case "oversized": ProviderDouble.json(["access_token": "a", "padding": String(repeating: "x", count: 300 * 1024)])
                case "html": ProviderDouble.raw("<html><body>Sign in</body></html>", contentType: "text/html")
                case "no-token": ProviderDouble.json(["token_type": "bearer", "expires_in": 7200])
                case "huge-token": ProviderDouble.json(["access_token": String(repeating: "t", count: 9000), "token_type": "Bearer"])
                case "server-error": ProviderDouble.json(["error": "server_error"], status: .serviceUnavailable)
                default: ProviderDouble.raw("", status: .internalServerError, contentType: "text/plain")
                }
            }
            gitlab.userinfo { _ in ProviderDouble.json(["username": "alice"]) }
            return [gitlab.entry]
        }) { app, browser, log in
            let seeded = try await seedApp(app, providers: ["gitlab"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("gitlab")
            let outcome = try await flow.outcome(token)
            #expect(outcome.status == "failed")
            #expect(outcome.code == "oauth_provider_error")
            #expect(outcome.details["error"] == expected)
            #expect(try await Grant.query(on: app.db).count() == 0)
            #expect(log.last("/api/v4/user") == nil)
        }
    }

    @Test("an oversized userinfo response stores nothing")
    func oversizedUserinfo() async throws {
        try await withProviderDoubles({ app, base, log in
            let gitlab = try ProviderDouble("gitlab", app: app, base: base, log: log)
            gitlab.token { _ in ProviderDouble.json(["access_token": "glpat", "token_type": "Bearer", "refresh_token": "glrt", "expires_in": 7200]) }
            gitlab.userinfo { _ in ProviderDouble.json(["username": "alice", "bio": String(repeating: "b", count: 400 * 1024)]) }
            return [gitlab.entry]
        }) { app, browser, _ in
            let seeded = try await seedApp(app, providers: ["gitlab"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (token, _) = try await flow.connectThroughDouble("gitlab")
            #expect(try await flow.outcome(token).details["error"] == "response_too_large")
            #expect(try await Grant.query(on: app.db).count() == 0)
        }
    }
}
