import Fluent
import FluentKit
import Foundation

/// An app's webhook endpoint, for `alter apps webhook` and the portal: its URL, its signing
/// secret (returned once, stored sealed), and a retry of a queued event.
struct WebhookEndpoint {
    let db: any Database
    let sealer: Sealer

    /// An https URL (http only on loopback), without credentials.
    static func url(_ raw: String) throws -> String {
        let url = raw.trimmingCharacters(in: .whitespaces)
        guard let parsed = URL(string: url), let host = parsed.host, parsed.user == nil,
            parsed.scheme == "https" || (parsed.scheme == "http" && AllowedOrigin.isLoopback(host))
        else { throw APIError.invalidRequest("The webhook URL must be an https URL (http only for localhost).") }
        return url
    }

    /// Sets the URL and a new signing secret; returns the secret (shown once).
    func set(url raw: String, for app: ClientApp) async throws -> String {
        let url = try Self.url(raw)
        let secret = WebhookSignature.newSecret()
        app.webhookURL = url
        app.sealedWebhookSecret = try sealer.seal(secret, row: try app.requireID().uuidString, field: ClientApp.webhookSecretField)
        try await app.update(on: db)
        return secret
    }

    func remove(for app: ClientApp) async throws {
        app.webhookURL = nil
        app.sealedWebhookSecret = nil
        try await app.update(on: db)
    }

    /// The app's latest events, newest first, delivered or not.
    func recent(appID: UUID, limit: Int = 50) async throws -> [WebhookOutbox] {
        try await WebhookOutbox.query(on: db).filter(\.$app.$id == appID).sort(\.$createdAt, .descending).limit(limit).all()
    }

    /// Makes an undelivered event due now (also one the dispatcher gave up on): the next
    /// delivery pass sends it. A delivered event is not sent again.
    func retry(eventID: UUID, appID: UUID, now: Date) async throws {
        guard let event = try await WebhookOutbox.query(on: db).filter(\.$id == eventID).filter(\.$app.$id == appID).first() else {
            throw APIError(.notFound, "No such webhook event for this app.")
        }
        guard event.deliveredAt == nil else { throw APIError.invalidRequest("This event was delivered; it is not sent again.") }
        if event.attempts >= WebhookDispatcher.maxAttempts { event.attempts = WebhookDispatcher.maxAttempts - 1 }
        event.nextAttemptAt = now
        try await event.update(on: db)
    }
}
