import Fluent
import Vapor

/// An app's providers: the catalog with search, one provider's OAuth client (the redirect URI
/// to register, client id, write-only secret, scopes, URL variables, on/off) through
/// `ProviderSetup`, and custom providers by discovery URL.
struct PortalProvidersController {
    func register(_ app: any RoutesBuilder) {
        app.get("providers", use: list)
        app.post("providers", "custom", use: addCustom)
        app.get("providers", ":provider", use: show)
        app.post("providers", ":provider", use: save)
    }

    func list(request: Request) async throws -> Response {
        try await listPage(request, customError: nil)
    }

    private func listPage(_ request: Request, customError: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let base = PortalPage.Section.providers.path(appID)
        let catalog = try await request.application.providerCatalog.forApp(appID, on: request.db)
        let configs = Dictionary(try await ProviderConfig.query(on: request.db).filter(\.$app.$id == appID).all().map { ($0.provider, $0) }) { $1 }
        let query = (request.query[String.self, at: "q"] ?? "").trimmingCharacters(in: .whitespaces)
        let needle = query.lowercased()
        let shown = catalog.sorted.filter { provider in
            needle.isEmpty || [provider.id, provider.name, provider.category, provider.description].contains { $0.lowercased().contains(needle) }
        }
        var body = "<form method=\"get\" action=\"\(base)\" role=\"search\" class=\"filters\"><label for=\"q\">Search the catalog</label>"
            + "<input id=\"q\" name=\"q\" type=\"search\" value=\"\(HTML.escape(query))\"><button type=\"submit\">Search</button></form>"
        body += "<table><thead><tr><th scope=\"col\">Provider</th><th scope=\"col\">Category</th><th scope=\"col\">State</th></tr></thead><tbody>"
        // Configured ones first.
        for provider in shown.sorted(by: { (configs[$0.id] != nil ? 0 : 1, $0.name) < (configs[$1.id] != nil ? 0 : 1, $1.name) }) {
            let state = configs[provider.id].map { $0.enabled ? "set up" : "set up, disabled" } ?? "not set up"
            body += "<tr><td><a href=\"\(base)/\(HTML.escape(provider.id))\">\(HTML.escape(provider.name))</a> <code>\(HTML.escape(provider.id))</code>"
                + (provider.isCustom ? " (custom)" : "") + "<div class=\"hint\">\(HTML.escape(provider.description))</div></td>"
                + "<td>\(HTML.escape(provider.category))</td><td>\(state)</td></tr>"
        }
        if shown.isEmpty { body += "<tr><td colspan=\"3\">No provider matches “\(HTML.escape(query))”.</td></tr>" }
        body += "</tbody></table>"
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        body += "<h2 id=\"custom\">Add a custom provider</h2><p>Your own OAuth 2.0 server, read from its RFC 8414 or OpenID Connect discovery document.</p>"
            + (customError.map(PortalForm.error) ?? "")
            + "<form class=\"box\" method=\"post\" action=\"\(base)/custom\">\(csrf)"
            + "<label for=\"custom_id\">Provider id <span class=\"hint\">a-z, 0-9 and '-'</span></label><input id=\"custom_id\" name=\"id\" required value=\"\(HTML.escape(PortalForm.field(request, "id")))\">"
            + "<label for=\"custom_name\">Name shown in Connect</label><input id=\"custom_name\" name=\"name\" required value=\"\(HTML.escape(PortalForm.field(request, "name")))\">"
            + "<label for=\"discovery_url\">Discovery URL</label><input id=\"discovery_url\" name=\"discovery_url\" type=\"url\" required placeholder=\"https://auth.example.com/.well-known/openid-configuration\" value=\"\(HTML.escape(PortalForm.field(request, "discovery_url")))\">"
            + "<label for=\"api_hosts\">API hosts <span class=\"hint\">Origins the proxy may call with its tokens, space-separated</span></label><input id=\"api_hosts\" name=\"api_hosts\" required value=\"\(HTML.escape(PortalForm.field(request, "api_hosts")))\">"
            + "<label for=\"custom_scopes\">Scopes</label><input id=\"custom_scopes\" name=\"scopes\" value=\"\(HTML.escape(PortalForm.field(request, "scopes")))\">"
            + "<label><input type=\"checkbox\" name=\"allow_private_network\"> Allow http and private addresses (tests only, never production)</label>"
            + "<button type=\"submit\" id=\"add-custom\">Add provider</button></form>"
        return PortalPage().response(request, title: "Providers", body: body, app: .init(app: app, section: .providers), status: status)
    }

    func addCustom(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let id = PortalForm.field(request, "id").trimmingCharacters(in: .whitespaces)
        let privateNetwork = PortalForm.checkbox(request, "allow_private_network")
        let setup = ProviderSetup(db: request.db, sealer: request.application.sealer, appID: appID)
        do {
            try ProviderSetup.checkCustomID(id, catalog: request.application.providerCatalog)
            let discovered: ProviderDiscovery.Metadata
            do {
                discovered = try await ProviderDiscovery(http: request.application.providerHTTP).fetch(PortalForm.field(request, "discovery_url"), allowsPrivateNetwork: privateNetwork)
            } catch {
                return try await listPage(request, customError: "Discovery URL: \(error.description)", status: .badRequest)
            }
            let input = CustomProviderInput(
                id: id, name: PortalForm.field(request, "name").trimmingCharacters(in: .whitespaces),
                apiHosts: PortalForm.field(request, "api_hosts").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init),
                scopes: PortalForm.field(request, "scopes").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init),
                allowsPrivateNetwork: privateNetwork)
            _ = try await setup.addCustom(input, discovered: discovered, catalog: request.application.providerCatalog)
        } catch let refusal as ProviderSetup.Refusal {
            return try await listPage(request, customError: Self.words(refusal), status: .badRequest)
        }
        return PortalForm.redirect(PortalPage.Section.providers.path(appID) + "/" + id, done: "custom_added")
    }

    func show(request: Request) async throws -> Response {
        try await providerPage(request, error: nil)
    }

    private func provider(_ request: Request, app: ClientApp) async throws -> CatalogProvider {
        let catalog = try await request.application.providerCatalog.forApp(try app.requireID(), on: request.db)
        guard let id = request.parameters.get("provider"), let provider = catalog[id] else { throw APIError(.unknownProvider, "No such provider for this app.") }
        return provider
    }

    private func providerPage(_ request: Request, error: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let provider = try await provider(request, app: app)
        let setup = ProviderSetup(db: request.db, sealer: request.application.sealer, appID: appID)
        let config = try await setup.config(for: provider.id)
        let publicURL = request.application.alterConfiguration.publicURL
        let redirectURI = config?.redirectURI(publicURL: publicURL) ?? ProviderConfig.redirectURI(publicURL: publicURL, provider: provider.id, legacy: false)
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        var body = "<p>\(HTML.escape(provider.description))</p>"
        body += "<div class=\"box\">" + PortalForm.shownOnce(redirectURI, id: "redirect-uri", label: "Redirect URI to register at \(provider.name) (exactly this)") + "</div>"
        if config?.legacyCallback == true {
            body += "<p class=\"hint\">This setup still uses the shared redirect URI. Register \(HTML.escape(ProviderConfig.redirectURI(publicURL: publicURL, provider: provider.id, legacy: false))) at the provider, then tick “Move to the per-provider redirect URI”.</p>"
        }
        body += (error.map(PortalForm.error) ?? "")
        body += "<form class=\"box\" method=\"post\" action=\"\(PortalPage.Section.providers.path(appID))/\(HTML.escape(provider.id))\">\(csrf)"
            + "<label for=\"client_id\">Client id</label><input id=\"client_id\" name=\"client_id\" required value=\"\(HTML.escape(config?.clientID ?? ""))\">"
            + "<label for=\"client_secret\">Client secret <span class=\"hint\">Write-only: stored encrypted, never shown. \(config == nil ? "Required." : "Leave empty to keep the stored one.")</span></label>"
            + "<input id=\"client_secret\" name=\"client_secret\" type=\"password\" autocomplete=\"off\"\(config == nil ? " required" : "")>"
            + "<label for=\"scopes\">Scopes <span class=\"hint\">Space-separated; empty: the catalog's (\(HTML.escape(provider.defaultScopes.joined(separator: " "))))</span></label>"
            + "<input id=\"scopes\" name=\"scopes\" value=\"\(HTML.escape(config?.scopes.joined(separator: " ") ?? ""))\">"
        for (name, variable) in provider.configVariables.sorted(by: { $0.key < $1.key }) {
            body += "<label for=\"var-\(HTML.escape(name))\">\(HTML.escape(name)) <span class=\"hint\">\(HTML.escape(variable.description ?? ""))</span></label>"
                + "<input id=\"var-\(HTML.escape(name))\" name=\"var_\(HTML.escape(name))\" required value=\"\(HTML.escape(config?.variables?[name] ?? ""))\">"
        }
        body += "<label><input type=\"checkbox\" name=\"enabled\"\(config?.enabled ?? true ? " checked" : "")> Enabled (offered in Connect sessions)</label>"
        if config?.legacyCallback == true { body += "<label><input type=\"checkbox\" name=\"move_redirect_uri\"> Move to the per-provider redirect URI</label>" }
        body += "<button type=\"submit\" id=\"save-provider\">\(config == nil ? "Set up" : "Save")</button></form>"
        return PortalPage().response(request, title: provider.name, body: body, app: .init(app: app, section: .providers), status: status)
    }

    func save(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        let appID = try app.requireID()
        let provider = try await provider(request, app: app)
        var variables: [String: String] = [:]
        for name in provider.configVariables.keys { variables[name] = PortalForm.optionalField(request, "var_" + name) }
        let change = ProviderSetup.ClientChange(
            clientID: PortalForm.field(request, "client_id"), clientSecret: PortalForm.optionalField(request, "client_secret"),
            scopes: PortalForm.field(request, "scopes").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init),
            variables: variables, enabled: PortalForm.checkbox(request, "enabled"), moveRedirectURI: PortalForm.checkbox(request, "move_redirect_uri"))
        do {
            _ = try await ProviderSetup(db: request.db, sealer: request.application.sealer, appID: appID).setClient(provider, change)
        } catch let refusal as ProviderSetup.Refusal {
            return try await providerPage(request, error: Self.words(refusal), status: .badRequest)
        }
        return PortalForm.redirect(PortalPage.Section.providers.path(appID) + "/" + provider.id, done: "provider_saved")
    }

    static func words(_ refusal: ProviderSetup.Refusal) -> String {
        switch refusal {
        case .unknownVariable(let name, let known): "\(name) is not a setting of this provider (it takes \(known.isEmpty ? "none" : known.joined(separator: ", ")))."
        case .variableNotAllowed(let name, let value, let rule): "\(name): “\(value)” is not allowed (\(rule))."
        case .variableMissing(let name, let rule): "\(name) is required (\(rule))."
        case .clientIDRequired: "The client id is required (at most 512 characters)."
        case .clientSecretRequired: "The client secret is required (at most 2048 characters)."
        case .catalogID(let id): "“\(id)” is a catalog provider's id; pick another id."
        case .grantsUseProvider(let count): "\(count) grant(s) use this provider; revoke them first."
        case .noSuchCustomProvider(let id): "There is no custom provider “\(id)”."
        case .custom(let violation): violation.rule
        }
    }
}
