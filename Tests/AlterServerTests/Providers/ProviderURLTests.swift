@testable import AlterServer
import Fluent
import Foundation
import Testing

/// Pure rules: URL templates with per-customer values, and token responses across quirks.
@Suite("Provider URL templates and token-response parsing")
struct ProviderURLTests {
    static func provider(_ id: String) throws -> CatalogProvider {
        try #require(ProviderCatalogTests.shipped.first { $0.id == id })
    }

    @Test(
        "placeholders know where they sit",
        arguments: [
            ("https://{shop}.myshopify.com/admin/oauth/authorize", [ProviderURLTemplate.Placeholder(name: "shop", position: .host)]),
            ("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token", [.init(name: "tenant", position: .path)]),
            ("{instance_url}", [.init(name: "instance_url", position: .origin)]),
            ("{instance_url}/services/oauth2/userinfo", [.init(name: "instance_url", position: .origin)]),
            ("https://x.example.com/a?b={c}", [.init(name: "c", position: .query)]),
            ("https://api.example.com", []),
        ])
    func positions(template: String, expected: [ProviderURLTemplate.Placeholder]) {
        #expect(ProviderURLTemplate.placeholders(in: template) == expected)
    }

    @Test(
        "a config value fills its place only when the pattern and the place allow it",
        arguments: [
            ("shopify", "shop", "acme-store", "https://acme-store.myshopify.com/admin/oauth/authorize"),
            ("shopify", "shop", "evil.com#", nil), ("shopify", "shop", "acme.evil", nil), ("shopify", "shop", "", nil),
            ("shopify", "shop", "ACME", nil), ("shopify", "shop", "a/b", nil),
            ("microsoft", "tenant", "common", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"),
            ("microsoft", "tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47", "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize"),
            ("microsoft", "tenant", "contoso.onmicrosoft.com", nil), ("microsoft", "tenant", "common/../evil", nil),
            ("zendesk", "subdomain", "acme", "https://acme.zendesk.com/oauth/authorizations/new"),
            ("zendesk", "subdomain", "acme.evil.com/x", nil),
        ] as [(String, String, String, String?)])
    func configValues(id: String, name: String, value: String, expected: String?) throws {
        let provider = try Self.provider(id)
        #expect((try? ProviderURLTemplate.resolve(provider.authorizationURL, provider: provider, values: [name: value])) == expected)
        #expect(ProviderURLTemplate.accepts(value, for: name, of: provider) == (expected != nil))
    }

    @Test("configuring a provider checks its variables the way the URLs will use them")
    func configureVariables() throws {
        let microsoft = try Self.provider("microsoft")
        #expect(try ProviderSetup.variables(["tenant": "common"], existing: [:], provider: microsoft) == ["tenant": "common"])
        #expect(try ProviderSetup.variables([:], existing: ["tenant": "consumers"], provider: microsoft) == ["tenant": "consumers"])
        #expect(throws: ProviderSetup.Refusal.self) { try ProviderSetup.variables([:], existing: [:], provider: microsoft) }
        #expect(throws: ProviderSetup.Refusal.self) { try ProviderSetup.variables(["tenant": "evil.example.com"], existing: [:], provider: microsoft) }
        #expect(throws: ProviderSetup.Refusal.self) { try ProviderSetup.variables(["shop": "acme"], existing: [:], provider: microsoft) }
        #expect(throws: CommandError.self) { try ProvidersCommands.Configure.variablePairs("shop=acme", provider: microsoft) }
        #expect(try ProviderSetup.variables([:], existing: ["stale": "x"], provider: try Self.provider("github")) == [:])
    }

    @Test(
        "token responses across quirks",
        arguments: [
            ("github", #"{"access_token":"gho_1","scope":"repo,user","token_type":"bearer"}"#, "application/json", "gho_1", ["repo", "user"]),
            ("github", "access_token=gho_2&scope=repo%2Cuser&token_type=bearer", "application/x-www-form-urlencoded", "gho_2", ["repo", "user"]),
            ("slack", #"{"ok":true,"access_token":"xoxb","authed_user":{"access_token":"xoxp","scope":"a,b","token_type":"user"}}"#, "application/json", "xoxp", ["a", "b"]),
            ("google", #"{"access_token":"ya29","token_type":"Bearer","scope":"openid email","expires_in":3599}"#, "application/json", "ya29", ["openid", "email"]),
            ("figma", #"{"access_token":"f","scope":"current_user:read,file_content:read"}"#, "application/json", "f", ["current_user:read", "file_content:read"]),
            ("google", #"{"access_token":"ya29","token_type":"Bearer","scope":["a","b"]}"#, "application/json; charset=utf-8", "ya29", ["a", "b"]),
        ] as [(String, String, String, String, [String])])
    func tokenResponses(id: String, body: String, contentType: String, accessToken: String, scopes: [String]) throws {
        let tokens = try TokenResponseParser.parse(body: Data(body.utf8), contentType: contentType, provider: try Self.provider(id), now: Date())
        #expect(tokens.accessToken == accessToken)
        #expect(tokens.scopes == scopes)
    }

    @Test(
        "token responses that must store nothing",
        arguments: [
            ("github", #"{"error":"bad_verification_code"}"#, "bad_verification_code"),
            ("slack", #"{"ok":false,"error":"invalid_code"}"#, "invalid_code"),
            ("slack", #"{"ok":false}"#, "provider_error"),
            ("github", "<html></html>", "invalid_token_response"),
            ("github", #"{"access_token":""}"#, "invalid_token_response"),
            ("github", #"["access_token"]"#, "invalid_token_response"),
            ("pipedrive", #"{"access_token":"a","token_type":"Bearer","api_domain":"https://evil.example.com"}"#, "invalid_token_response"),
            ("pipedrive", #"{"access_token":"a","token_type":"Bearer","api_domain":"https://acme.pipedrive.com.evil.com"}"#, "invalid_token_response"),
        ])
    func rejectedTokenResponses(id: String, body: String, error: String) throws {
        let provider = try Self.provider(id)
        let thrown = #expect(throws: ProviderError.self) {
            try TokenResponseParser.parse(body: Data(body.utf8), contentType: "application/json", provider: provider, now: Date())
        }
        #expect(thrown?.error == error)
    }

    /// RFC 6749 §5.1 and §7.1: the vault sends every token as Bearer.
    @Test("a token_type other than Bearer, or a missing one where the provider sends it, stores nothing", arguments: [
        ("github", #"{"access_token":"a","token_type":"mac"}"#, "is not Bearer"),
        ("github", #"{"access_token":"a","token_type":"DPoP"}"#, "is not Bearer"),
        ("github", #"{"access_token":"a","token_type":7}"#, "is not Bearer"),
        ("github", #"{"access_token":"a","token_type":"bot"}"#, "is not Bearer"),
        ("github", #"{"access_token":"a"}"#, "has no token_type"),
        ("slack", #"{"ok":true,"access_token":"xoxb","authed_user":{"access_token":"xoxp","token_type":"mac"}}"#, "is not Bearer"),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":"inf"}"#, "expires_in"),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":"nan"}"#, "expires_in"),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":-5}"#, "expires_in"),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#, "expires_in"),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":[3600]}"#, "expires_in"),
    ])
    func tokenTypeAndLifetime(id: String, body: String, description: String) throws {
        let provider = try Self.provider(id)
        let thrown = #expect(throws: ProviderError.self) {
            try TokenResponseParser.parse(body: Data(body.utf8), contentType: "application/json", provider: provider, now: Date())
        }
        #expect(thrown?.error == "invalid_token_response")
        #expect(thrown?.errorDescription?.contains(description) == true, "\(thrown?.errorDescription ?? "")")
    }

    @Test("token types in any case, where the catalog allows no type, and lifetimes as numbers or strings, capped at ten years", arguments: [
        ("github", #"{"access_token":"a","token_type":"bearer"}"#, nil),
        ("google", #"{"access_token":"a","token_type":"BEARER","expires_in":3600}"#, 3600),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":"3600"}"#, 3600),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":1e300}"#, TokenResponseParser.maxLifetime),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":"1e308"}"#, TokenResponseParser.maxLifetime),
        ("google", #"{"access_token":"a","token_type":"Bearer","expires_in":null}"#, nil),
        ("mailchimp", #"{"access_token":"a","expires_in":0,"scope":null}"#, nil),
        ("shopify", #"{"access_token":"a","scope":"read_products"}"#, nil),
        ("slack", #"{"ok":true,"access_token":"xoxb","token_type":"bot"}"#, nil),
    ] as [(String, String, TimeInterval?)])
    func acceptedTokenTypes(id: String, body: String, lifetime: TimeInterval?) throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let tokens = try TokenResponseParser.parse(body: Data(body.utf8), contentType: "application/json", provider: try Self.provider(id), now: now)
        #expect(tokens.expiresAt.map { $0.timeIntervalSince(now) } == lifetime)
    }

    @Test("JSON paths read nested fields, array indexes and the first element matching key=value")
    func jsonPaths() throws {
        let object = try JSONSerialization.jsonObject(with: Data(#"""
            {"a":{"b":[{"c":"first","d":false},{"c":"second","d":true,"n":7}]},"id":12}
            """#.utf8))
        #expect(JSONPath.string(at: "a.b.0.c", in: object) == "first")
        #expect(JSONPath.string(at: "a.b.d=true.c", in: object) == "second")
        #expect(JSONPath.string(at: "a.b.c=first.d", in: object) == "0")
        #expect(JSONPath.string(at: "a.b.c=third.c", in: object) == nil)
        #expect(JSONPath.string(at: "id", in: object) == "12")
        #expect(JSONPath.string(at: "a.b.5.c", in: object) == nil)
    }
}
