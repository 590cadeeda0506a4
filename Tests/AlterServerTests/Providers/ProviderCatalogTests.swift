@testable import AlterServer
import Fluent
import Foundation
import Testing

/// The shipped catalog as a whole, and the start-up rules every entry must pass.
@Suite("Provider catalog: schema of the shipped file and start-up rules")
struct ProviderCatalogTests {
    static let shipped: [CatalogProvider] = (try? ProviderCatalog.loadShipped()) ?? []

    /// The providers the issue names (stripe = Stripe Connect, twitter = X).
    static let required = [
        "google", "github", "slack", "sentry", "microsoft", "gitlab", "bitbucket", "atlassian", "notion", "linear", "asana", "hubspot",
        "salesforce", "zendesk", "intercom", "dropbox", "box", "zoom", "discord", "figma", "airtable", "shopify", "stripe", "twitter",
        "linkedin", "spotify", "calendly", "clickup", "monday", "pipedrive", "xero", "quickbooks", "docusign", "webex", "miro", "typeform",
        "mailchimp", "todoist", "strava", "reddit",
    ]

    /// Providers whose endpoints legitimately sit on more than one registrable domain
    /// (docs/providers.md, "API hosts on a different domain").
    static let extraDomains: [String: Set<String>] = [
        "google": ["googleapis.com"], "microsoft": ["microsoft.com"], "hubspot": ["hubapi.com"], "dropbox": ["dropboxapi.com"],
        "intercom": ["intercom.io"], "twitter": ["twitter.com"], "docusign": ["docusign.net"],
    ]

    static func registrableDomain(_ url: String) -> String? {
        guard let host = URLComponents(string: url)?.host else { return nil }
        return host.split(separator: ".").suffix(2).joined(separator: ".")
    }

    @Test("the shipped catalog loads, passes every rule, and has at least 40 providers including the issue's list")
    func loadsAndCovers() throws {
        let catalog = try ProviderCatalog(providers: Self.shipped)
        #expect(Self.shipped.count >= 40)
        #expect(Self.required.filter { catalog[$0] == nil } == [])
        #expect(Set(Self.shipped.map(\.id)).count == Self.shipped.count)
        #expect(Set(Self.shipped.map { $0.name.lowercased() }).count == Self.shipped.count)
        #expect(Self.shipped.map(\.id) == Self.shipped.map(\.id).sorted(), "the file is sorted by id")
    }

    /// RFC 9700 §2.1.1: PKCE everywhere it is not known to fail; the exceptions are documented.
    @Test("PKCE is off only for the providers docs/providers.md lists as rejecting it")
    func pkceExceptions() throws {
        let docs = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../docs/providers.md").standardizedFileURL, encoding: .utf8)
        let section = try #require(docs.components(separatedBy: "<!-- pkce-exceptions").dropFirst().first?.components(separatedBy: "\n\n").first)
        let documented = section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("- **"), let end = line.dropFirst(4).firstIndex(of: "*") else { return nil }
            return String(line.dropFirst(4)[..<end])
        }
        #expect(!documented.isEmpty)
        #expect(Set(Self.shipped.filter { !$0.pkce }.map(\.id)) == Set(documented))
    }

    @Test("every URL is https, every quirk is known, every variable is declared and used", arguments: shipped)
    func entry(provider: CatalogProvider) throws {
        for url in provider.urlTemplates + [provider.docsURL].compactMap({ $0 }) where !url.hasPrefix("{") {
            #expect(url.hasPrefix("https://"), "\(provider.id): \(url)")
        }
        #expect(provider.quirks.allSatisfy { ProviderQuirk(rawValue: $0) != nil }, "\(provider.id): \(provider.quirks)")
        let used = Set(provider.urlTemplates.flatMap { ProviderURLTemplate.placeholders(in: $0).map(\.name) })
        #expect(used == Set(provider.variables.keys), "\(provider.id)")
        #expect(!provider.allowsPrivateNetwork && !provider.isCustom)
        #expect(provider.userinfo != nil, "\(provider.id) cannot name the connected account")
        #expect(provider.docsURL != nil, "\(provider.id) has no docs_url")
        if let logo = provider.logoSVG { #expect(CatalogRules.logoProblem(logo) == nil) }
    }

    @Test("hosts are consistent: every endpoint and API host is on the provider's own domain(s)", arguments: shipped)
    func hostsConsistent(provider: CatalogProvider) throws {
        func sample(_ template: String) -> String {
            ProviderURLTemplate.placeholders(in: template).reduce(template) { $0.replacingOccurrences(of: "{\($1.name)}", with: "x") }
        }
        let home = try #require(Self.registrableDomain(sample(provider.authorizationURL)))
        let allowed = Self.extraDomains[provider.id, default: []].union([home])
        for template in provider.urlTemplates {
            if let origin = ProviderURLTemplate.placeholders(in: template).first, origin.position == .origin {
                // A whole-origin value (Salesforce instance_url): its pattern pins the provider's domain.
                let pattern = try #require(provider.variables[origin.name]?.pattern)
                let pinned = allowed.contains { pattern.hasSuffix("\\." + $0.replacingOccurrences(of: ".", with: "\\.") + "$") }
                #expect(pattern.hasPrefix("^https://") && pinned, "\(provider.id): \(pattern)")
                continue
            }
            let domain = try #require(Self.registrableDomain(sample(template)), "\(provider.id): \(template)")
            #expect(allowed.contains(domain), "\(provider.id): \(template) is on \(domain), not \(allowed.sorted())")
        }
    }

    @Test("the sandbox entries pass the same rules (http allowed only because they are marked private-network)")
    func sandboxEntries() throws {
        let entries = SandboxProviders.catalogEntries(publicURL: "http://localhost:4000")
        _ = try ProviderCatalog(providers: Self.shipped + entries)
        var exposed = entries[0]
        exposed.allowsPrivateNetwork = false
        #expect(throws: CatalogViolation.self) { try CatalogRules.check(exposed) }
    }

    // MARK: - Rules, one broken entry at a time

    static var github: CatalogProvider { shipped.first { $0.id == "github" }! }
    static var shopify: CatalogProvider { shipped.first { $0.id == "shopify" }! }

    struct Breakage: CustomTestStringConvertible, Sendable {
        let rule: String
        let base: String
        let expected: String
        let apply: @Sendable (inout CatalogProvider) -> Void
        var testDescription: String { rule }
    }

    static let breakages: [Breakage] = [
        .init(rule: "token URL over http", base: "github", expected: "token_url must be an absolute https URL") { $0.tokenURL = "http://github.com/login/oauth/access_token" },
        .init(rule: "relative userinfo URL", base: "github", expected: "userinfo.url must be an absolute https URL") { $0.userinfo?.url = "/user" },
        .init(rule: "user info in a URL", base: "github", expected: "authorization_url must be an absolute https URL") { $0.authorizationURL = "https://a:b@github.com/login" },
        .init(rule: "undeclared variable", base: "github", expected: "uses {org}, which `variables` does not declare") { $0.authorizationURL = "https://{org}.github.com/login" },
        .init(rule: "variable in the query", base: "shopify", expected: "has {shop} in its query") { $0.revocationURL = "https://x.myshopify.com/revoke?shop={shop}" },
        .init(rule: "unanchored pattern", base: "shopify", expected: "pattern must be anchored") { $0.variables["shop"]?.pattern = "[a-z0-9-]+" },
        .init(rule: "top-level alternation escapes the anchors", base: "shopify", expected: "pattern must be anchored") { $0.variables["shop"]?.pattern = "^acme|evil$" },
        .init(rule: "pattern that does not compile", base: "shopify", expected: "pattern does not compile") { $0.variables["shop"]?.pattern = "^(acme$" },
        .init(rule: "variable without a pattern", base: "shopify", expected: "needs a pattern") { $0.variables["shop"]?.pattern = nil },
        .init(rule: "unknown variable source", base: "shopify", expected: "unknown source 'header'") { $0.variables["shop"]?.source = "header" },
        .init(rule: "declared but unused variable", base: "github", expected: "variable 'org' is declared but no URL or API host uses it") {
            $0.variables["org"] = .init(pattern: "^[a-z]+$", description: nil, source: nil, field: nil)
        },
        .init(rule: "token-response variable in the authorization URL", base: "github", expected: "only known after the token response") {
            $0.variables["org"] = .init(pattern: "^[a-z]+$", description: nil, source: "token_response", field: nil)
            $0.authorizationURL = "https://github.com/{org}/authorize"
        },
        .init(rule: "userinfo variable in the userinfo URL", base: "github", expected: "only known after the userinfo call") {
            $0.variables["org"] = .init(pattern: "^[a-z]+$", description: nil, source: "userinfo", field: "org")
            $0.userinfo?.url = "https://api.github.com/orgs/{org}"
        },
        .init(rule: "admin variable as a whole origin", base: "github", expected: "only a token_response or userinfo value may be") {
            $0.variables["origin"] = .init(pattern: "^https://[a-z]+\\.github\\.com$", description: nil, source: nil, field: nil)
            $0.apiHosts.append("{origin}")
        },
        .init(rule: "origin variable whose pattern allows any scheme", base: "github", expected: "pattern must start with ^https://") {
            $0.variables["origin"] = .init(pattern: "^[a-z:/.]+$", description: nil, source: "token_response", field: nil)
            $0.apiHosts.append("{origin}")
        },
        .init(rule: "API host with a path", base: "github", expected: "must be scheme + host only") { $0.apiHosts = ["https://api.github.com/v3"] },
        .init(rule: "API host with a trailing slash", base: "github", expected: "must be scheme + host only") { $0.apiHosts = ["https://api.github.com/"] },
        .init(rule: "API host over http", base: "github", expected: "must be scheme + host only") { $0.apiHosts = ["http://api.github.com"] },
        .init(rule: "no API hosts", base: "github", expected: "api_hosts must list at least one origin") { $0.apiHosts = [] },
        .init(rule: "unknown quirk", base: "github", expected: "unknown quirk 'magic_tokens'") { $0.quirks.append("magic_tokens") },
        .init(rule: "id with upper case", base: "github", expected: "id must be") { $0.id = "GitHub" },
        .init(rule: "id with a dot", base: "github", expected: "id must be") { $0.id = "git.hub" },
        .init(rule: "unknown scope separator", base: "github", expected: "scope_separator must be") { $0.scopeSeparator = "+" },
        .init(rule: "a scope containing a separator", base: "github", expected: "default scope 'repo user' is empty or contains a separator") { $0.defaultScopes = ["repo user"] },
        .init(rule: "an authorization parameter the client owns", base: "github", expected: "authorization_params may not set 'redirect_uri'") {
            $0.authorizationParams["redirect_uri"] = "https://evil.example.com"
        },
        .init(rule: "a logo with a script", base: "github", expected: "logo_svg may not contain <script") { $0.logoSVG = "<svg><script>alert(1)</script></svg>" },
        .init(rule: "a logo with an event handler", base: "github", expected: "logo_svg may not contain event handler") { $0.logoSVG = "<svg onload=\"x()\"></svg>" },
        .init(rule: "a logo loading a remote image", base: "github", expected: "logo_svg may not contain") { $0.logoSVG = "<svg><image href=\"https://evil.example.com/x.png\"/></svg>" },
        .init(rule: "basic_auth_json_body with client_secret_post", base: "github", expected: "quirk basic_auth_json_body needs") { $0.quirks.append("basic_auth_json_body") },
        .init(rule: "userinfo_graphql without a body", base: "github", expected: "quirk userinfo_graphql needs") { $0.quirks.append("userinfo_graphql") },
        .init(rule: "tenant_in_url without a tenant", base: "github", expected: "quirk tenant_in_url needs") { $0.quirks.append("tenant_in_url") },
        .init(rule: "no_scope_param with default scopes", base: "github", expected: "quirk no_scope_param needs empty default_scopes") { $0.quirks.append("no_scope_param") },
        .init(rule: "userinfo method PUT", base: "github", expected: "userinfo method must be GET or POST") { $0.userinfo?.method = "PUT" },
        .init(rule: "userinfo header that overrides Authorization", base: "github", expected: "header 'Authorization' is not allowed") {
            $0.userinfo?.headers = ["Authorization": "Basic x"]
        },
        .init(rule: "docs URL over http", base: "github", expected: "docs_url must be an absolute https URL") { $0.docsURL = "http://docs.github.com" },
    ]

    @Test("a catalog entry that breaks a rule stops the catalog, naming the provider and the rule", arguments: breakages)
    func breaksRule(breakage: Breakage) throws {
        var entry = try #require(Self.shipped.first { $0.id == breakage.base })
        breakage.apply(&entry)
        let error = #expect(throws: CatalogViolation.self) { try ProviderCatalog(providers: Self.shipped.filter { $0.id != breakage.base } + [entry]) }
        #expect(error?.provider == entry.id)
        #expect(error?.rule.contains(breakage.expected) == true, "\(error?.rule ?? "nothing thrown")")
        #expect(error?.description.hasPrefix("provider catalog: '\(entry.id)': ") == true)
    }

    @Test("the same id twice is refused")
    func duplicateID() {
        let error = #expect(throws: CatalogViolation.self) { try ProviderCatalog(providers: Self.shipped + [Self.github]) }
        #expect(error?.description == "provider catalog: 'github': the catalog lists this id twice")
    }

    @Test(
        "a malformed file names the entry and the field",
        arguments: [
            ("client_auth", "client_secret_jwt", "'github': client_auth must be one of client_secret_basic, client_secret_post (got 'client_secret_jwt')"),
            ("token_request_format", "xml", "'github': token_request_format must be one of form, json (got 'xml')"),
            ("token_url", nil, "'github': `token_url` is required"),
            ("pkce", "yes", "'github': `pkce` has the wrong type"),
        ])
    func malformedFile(key: String, value: String?, expected: String) throws {
        let encoder = JSONEncoder()
        var object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(Self.github)) as? [String: Any])
        object[key] = value
        let file = try JSONSerialization.data(withJSONObject: ["version": 1, "providers": [object]])
        let error = #expect(throws: CatalogViolation.self) { try ProviderCatalog.decode(file) }
        #expect(error.map { "\($0)" } == "provider catalog: \(expected)")
    }

    @Test("an unsupported file version or a file that is not a catalog is refused")
    func wrongFile() {
        #expect(throws: ConfigurationError.self) { try ProviderCatalog.decode(Data(#"{"version": 2, "providers": []}"#.utf8)) }
        #expect(throws: ConfigurationError.self) { try ProviderCatalog.decode(Data("[1, 2]".utf8)) }
    }

    @Test(
        "anchoring needs ^…$ with no top-level alternative",
        arguments: [
            ("^[a-z]+$", true), ("^(common|organizations)$", true), ("^a\\|b$", true), ("^[|]+$", true),
            ("[a-z]+", false), ("^[a-z]+", false), ("[a-z]+$", false), ("^a|b$", false), ("^abc\\$", false), ("^(a$", false),
        ])
    func anchoring(pattern: String, anchored: Bool) {
        #expect(CatalogRules.isAnchored(pattern) == anchored)
    }
}
