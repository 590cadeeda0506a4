import Fluent
import Vapor

/// The app's webhook endpoint (`WebhookEndpoint`): URL, rotate the signing secret (shown
/// once), remove, and the recent events with their delivery state and a retry.
struct PortalWebhooksController {
    func register(_ app: any RoutesBuilder) {
        app.get("webhooks", use: show)
        app.post("webhooks", use: save)
        app.post("webhooks", "rotate", use: rotate)
        app.post("webhooks", "remove", use: remove)
        app.post("webhooks", ":event", "retry", use: retry)
    }

    private func endpoint(_ request: Request) -> WebhookEndpoint { WebhookEndpoint(db: request.db, sealer: request.application.sealer) }

    func show(request: Request) async throws -> Response {
        try await page(request, app: try await request.portalApp(), secret: nil, error: nil)
    }

    func save(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        do {
            let secret = try await endpoint(request).set(url: PortalForm.field(request, "url"), for: app)
            return try await page(request, app: app, secret: secret, error: nil)
        } catch let error as APIError {
            return try await page(request, app: try await request.portalApp(), secret: nil, error: error.message, status: .badRequest)
        }
    }

    func rotate(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        guard let url = app.webhookURL else { throw APIError.invalidRequest("Set a webhook URL first.") }
        let secret = try await endpoint(request).set(url: url, for: app)
        return try await page(request, app: app, secret: secret, error: nil)
    }

    func remove(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        try await endpoint(request).remove(for: app)
        return PortalForm.redirect(PortalPage.Section.webhooks.path(try app.requireID()), done: "webhook_removed")
    }

    func retry(request: Request) async throws -> Response {
        let app = try await request.portalApp()
        guard let id = request.parameters.get("event").flatMap(UUID.init(uuidString:)) else { throw APIError(.notFound, "No such webhook event for this app.") }
        try await endpoint(request).retry(eventID: id, appID: try app.requireID(), now: request.application.clock.now())
        return PortalForm.redirect(PortalPage.Section.webhooks.path(try app.requireID()), done: "retry_queued")
    }

    private func page(_ request: Request, app: ClientApp, secret: String?, error: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let appID = try app.requireID()
        let base = PortalPage.Section.webhooks.path(appID)
        let csrf = PortalForm.csrfField(request.signedInOperator!)
        var body = "<p>Grant events (<code>grant.created</code>, <code>grant.revoked</code>…) are POSTed to this URL, signed with the secret.</p>"
        if let secret {
            body += "<div class=\"box\" id=\"new-secret\" role=\"status\"><p><strong>New signing secret.</strong> Store it now: it is not shown again.</p>"
                + PortalForm.shownOnce(secret, id: "secret-value", label: "Signing secret") + "</div>"
        }
        body += (error.map(PortalForm.error) ?? "")
            + "<form class=\"box\" method=\"post\" action=\"\(base)\">\(csrf)<label for=\"url\">Webhook URL <span class=\"hint\">https (http only for localhost); saving makes a new secret</span></label>"
            + "<input id=\"url\" name=\"url\" type=\"url\" required value=\"\(HTML.escape(app.webhookURL ?? ""))\"><button type=\"submit\" id=\"save-webhook\">Save</button></form>"
        if app.webhookURL != nil {
            body += "<form class=\"inline\" method=\"post\" action=\"\(base)/rotate\">\(csrf)<button type=\"submit\" class=\"secondary\" id=\"rotate-secret\">Rotate secret</button></form> "
                + "<form class=\"inline\" method=\"post\" action=\"\(base)/remove\">\(csrf)<button type=\"submit\" class=\"danger\">Turn off webhooks</button></form>"
        }
        let events = try await endpoint(request).recent(appID: appID)
        body += "<h2>Recent deliveries</h2><table><thead><tr><th scope=\"col\">Event</th><th scope=\"col\">Created</th><th scope=\"col\">Status</th><th scope=\"col\">Attempts</th><th scope=\"col\"></th></tr></thead><tbody>"
        for event in events {
            let id = try event.requireID()
            let state: String
            if let delivered = event.deliveredAt {
                state = "delivered " + PortalForm.date(delivered)
            } else if event.attempts >= WebhookDispatcher.maxAttempts {
                state = "gave up: \(HTML.escape(event.lastError ?? "failed"))"
            } else if let error = event.lastError {
                state = "failing: \(HTML.escape(error)); next try " + PortalForm.date(event.nextAttemptAt)
            } else {
                state = "queued"
            }
            let retry = event.deliveredAt == nil
                ? "<form class=\"inline\" method=\"post\" action=\"\(base)/\(id.lowercasedString)/retry\">\(csrf)<button type=\"submit\" class=\"secondary\">Retry now</button></form>" : ""
            body += "<tr><td><code>\(HTML.escape(event.type.rawValue))</code></td><td>\(PortalForm.date(event.createdAt))</td><td>\(state)</td><td>\(event.attempts)</td><td>\(retry)</td></tr>"
        }
        if events.isEmpty { body += "<tr><td colspan=\"5\">No events yet.</td></tr>" }
        body += "</tbody></table>"
        return PortalPage().response(request, title: "Webhooks", body: body, app: .init(app: app, section: .webhooks), status: status)
    }
}
