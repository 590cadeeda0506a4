import FluentKit
import Foundation

/// Queues an event for an app's webhook, inside the caller's transaction. The outbox knows
/// only an event type and its `data`; the rooms that change things (Grants, Refresh) say
/// what the data is.
enum WebhookEvents {
    struct Body<Payload: Encodable>: Encodable {
        let id: String
        let type: WebhookOutbox.EventType
        let createdAt: Date
        let data: Payload

        enum CodingKeys: String, CodingKey {
            case id, type, data
            case createdAt = "created_at"
        }
    }

    /// Does nothing for an app without a webhook URL; `data` is built only when there is one.
    static func enqueue<Payload: Encodable>(
        _ type: WebhookOutbox.EventType, appID: UUID, at now: Date, on db: any Database, data: () async throws -> Payload
    ) async throws {
        guard let app = try await ClientApp.find(appID, on: db), app.webhookURL != nil else { return }
        let data = try await data()
        let id = UUID()
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = Body(id: "evt_" + id.lowercasedString.replacingOccurrences(of: "-", with: ""), type: type, createdAt: now, data: data)
        let event = WebhookOutbox()
        event.id = id
        event.$app.id = appID
        event.type = type
        event.payload = String(decoding: try encoder.encode(body), as: UTF8.self)
        event.attempts = 0
        event.nextAttemptAt = now
        event.createdAt = now
        try await event.create(on: db)
    }
}
