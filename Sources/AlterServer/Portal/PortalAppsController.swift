import Fluent
import Vapor

/// The app list and one app's overview: settings (`AppSettings`), Connect branding
/// (`AppBrandingRules`), deletion (`AppDeletion`).
struct PortalAppsController {
    func register(_ routes: any RoutesBuilder) {
        routes.get(use: list)
        routes.post("apps", use: create)
        routes.get("apps", ":app", use: overview)
        routes.post("apps", ":app", "settings", use: saveSettings)
        // A logo of up to 64 KiB in a multipart form.
        routes.on(.POST, "apps", ":app", "branding", body: .collect(maxSize: "256kb"), use: saveBranding)
        routes.post("apps", ":app", "delete", use: delete)
    }

    func list(request: Request) async throws -> Response {
        try await listPage(request, error: nil, name: "", website: "", status: .ok)
    }

    private func listPage(_ request: Request, error: String?, name: String, website: String, status: HTTPResponseStatus) async throws -> Response {
        let signedIn = request.signedInOperator!
        let apps = try await ClientApp.query(on: request.db).sort(\.$createdAt).all()
        var body = ""
        if apps.isEmpty {
            body += "<p>No apps yet. Create the first one below.</p>"
        } else {
            body += "<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Website</th><th scope=\"col\">Id</th><th scope=\"col\">Created</th></tr></thead><tbody>"
            for app in apps {
                let id = try app.requireID()
                body += "<tr><td><a href=\"\(PortalPaths.app(id))\">\(HTML.escape(app.name))</a></td><td>\(HTML.escape(app.websiteURL ?? "—"))</td>"
                    + "<td><code>\(id.lowercasedString)</code></td><td>\(PortalForm.date(app.createdAt))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "<h2>Create an app</h2>" + (error.map(PortalForm.error) ?? "")
            + "<form class=\"box\" method=\"post\" action=\"/portal/apps\">\(PortalForm.csrfField(signedIn))"
            + "<label for=\"name\">Name</label><input id=\"name\" name=\"name\" required maxlength=\"\(AppSettings.maxNameLength)\" value=\"\(HTML.escape(name))\">"
            + "<label for=\"website_url\">Website URL <span class=\"hint\">The app's origin, e.g. https://app.example.com: used when a session has no allowed_origin.</span></label>"
            + "<input id=\"website_url\" name=\"website_url\" type=\"url\" value=\"\(HTML.escape(website))\">"
            + "<button type=\"submit\" id=\"create-app\">Create app</button></form>"
        return PortalPage().response(request, title: "Apps", body: body, status: status)
    }

    func create(request: Request) async throws -> Response {
        let name = PortalForm.field(request, "name")
        let website = PortalForm.field(request, "website_url")
        do {
            let app = try await AppSettings.create(name: name, websiteURL: website, on: request.db)
            return PortalForm.redirect(PortalPaths.app(try app.requireID()), done: "saved")
        } catch let error as APIError {
            return try await listPage(request, error: error.message, name: name, website: website, status: .badRequest)
        }
    }

    func overview(request: Request) async throws -> Response {
        try await overviewPage(request, app: try await request.portalApp(), errors: [:])
    }

    /// `errors`: a message per form (`settings`, `branding`, `delete`).
    private func overviewPage(_ request: Request, app: ClientApp, errors: [String: String], status: HTTPResponseStatus = .ok) async throws -> Response {
        let signedIn = request.signedInOperator!
        let id = try app.requireID()
        let base = PortalPaths.app(id)
        let csrf = PortalForm.csrfField(signedIn)
        let branding = app.connectBranding
        var body = "<p>App id <code>\(id.lowercasedString)</code> · created \(PortalForm.date(app.createdAt))</p>"
        body += "<h2 id=\"settings\">Settings</h2>" + (errors["settings"].map(PortalForm.error) ?? "")
            + "<form class=\"box\" method=\"post\" action=\"\(base)/settings\">\(csrf)"
            + "<label for=\"name\">Name</label><input id=\"name\" name=\"name\" required value=\"\(HTML.escape(app.name))\">"
            + "<label for=\"website_url\">Website URL</label><input id=\"website_url\" name=\"website_url\" type=\"url\" value=\"\(HTML.escape(app.websiteURL ?? ""))\">"
            + "<button type=\"submit\" id=\"save-settings\">Save</button></form>"

        body += "<h2 id=\"branding\">Connect branding</h2><p class=\"hint\">Shown to your users on the hosted Connect pages and the sandbox consent page.</p>"
            + (errors["branding"].map(PortalForm.error) ?? "")
            + "<div class=\"box\"><p>Preview: <strong id=\"brand-preview-name\">\(HTML.escape(branding.name))</strong>"
            + (branding.accentColor.map { " · accent <code>\(HTML.escape($0))</code>" } ?? "")
            + "</p>" + (branding.logoDataURI.map { "<img class=\"logo\" id=\"brand-logo\" src=\"\(HTML.escape($0))\" alt=\"Current logo\">" } ?? "<p class=\"muted\">No logo.</p>") + "</div>"
            + "<form class=\"box\" method=\"post\" action=\"\(base)/branding\" enctype=\"multipart/form-data\">\(csrf)"
            + "<label for=\"display_name\">Display name <span class=\"hint\">At most \(AppBrandingRules.maxDisplayNameLength) characters; empty: the app's name.</span></label>"
            + "<input id=\"display_name\" name=\"display_name\" maxlength=\"\(AppBrandingRules.maxDisplayNameLength)\" value=\"\(HTML.escape(app.brandDisplayName ?? ""))\">"
            + "<label for=\"accent_color\">Accent colour <span class=\"hint\">#rrggbb with at least \(AppBrandingRules.minimumContrast):1 contrast against white button text; empty: the default.</span></label>"
            + "<input id=\"accent_color\" name=\"accent_color\" value=\"\(HTML.escape(app.brandAccentColor ?? ""))\" pattern=\"#[0-9a-fA-F]{6}\" placeholder=\"#2b59c3\">"
            + "<label for=\"logo\">Logo <span class=\"hint\">PNG or JPEG, at most \(AppBrandingRules.maxLogoBytes / 1024) KiB and \(AppBrandingRules.maxLogoSide)×\(AppBrandingRules.maxLogoSide) px; metadata is removed.</span></label>"
            + "<input id=\"logo\" name=\"logo\" type=\"file\" accept=\"image/png,image/jpeg\">"
            + "<label><input type=\"checkbox\" name=\"remove_logo\"> Remove the logo</label>"
            + "<button type=\"submit\" id=\"save-branding\">Save branding</button></form>"

        body += "<h2 id=\"delete\">Delete this app</h2>" + (errors["delete"].map(PortalForm.error) ?? "")
            + "<form class=\"box\" method=\"post\" action=\"\(base)/delete\">\(csrf)"
            + "<p>Its keys, agents, provider setups, managed secrets and audit trail are deleted too. An app with grants cannot be deleted: revoke them first.</p>"
            + "<label for=\"confirm_name\">Type the app's name to confirm</label><input id=\"confirm_name\" name=\"confirm_name\" autocomplete=\"off\" required>"
            + "<button type=\"submit\" class=\"danger\" id=\"delete-app\">Delete app</button></form>"
        return PortalPage().response(request, title: app.name, body: body, app: .init(app: app, section: .overview), status: status)
    }

    func saveSettings(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        do {
            app.name = try AppSettings.name(PortalForm.field(request, "name"))
            app.websiteURL = try AppSettings.websiteURL(PortalForm.field(request, "website_url"))
        } catch let error as APIError {
            let fresh = try await request.portalApp()
            return try await overviewPage(request, app: fresh, errors: ["settings": error.message], status: .badRequest)
        }
        try await app.update(on: request.db)
        return PortalForm.redirect(PortalPaths.app(try app.requireID()), done: "saved")
    }

    func saveBranding(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        do {
            app.brandDisplayName = try AppBrandingRules.displayName(PortalForm.field(request, "display_name"))
            app.brandAccentColor = try AppBrandingRules.accentColor(PortalForm.field(request, "accent_color"))
            if PortalForm.checkbox(request, "remove_logo") {
                app.brandLogo = nil
            } else if let file = try? request.content.get(File.self, at: "logo"), file.data.readableBytes > 0 {
                app.brandLogo = try AppBrandingRules.logo(Array(file.data.readableBytesView))
            }
        } catch let refusal as AppBrandingRules.Refusal {
            let fresh = try await request.portalApp()
            return try await overviewPage(request, app: fresh, errors: ["branding": refusal.description], status: .badRequest)
        }
        try await app.update(on: request.db)
        return PortalForm.redirect(PortalPaths.app(try app.requireID()), done: "saved")
    }

    func delete(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        do {
            try await AppDeletion.delete(app, confirmingName: PortalForm.field(request, "confirm_name"), on: request.db)
        } catch let error as APIError {
            return try await overviewPage(request, app: app, errors: ["delete": error.message], status: .badRequest)
        }
        return PortalForm.redirect(PortalPaths.root, done: "app_deleted")
    }
}
