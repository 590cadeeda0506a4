import FluentKit
import Foundation

/// Queues grant events for an app's webhook, inside the caller's transaction.
enum WebhookEvents {
    struct Body: Encodable {
        struct Data: Encodable {
            let grant: GrantInfo
        }
        let id: String
        let type: String
        let createdAt: Date
        let data: Data

        enum CodingKeys: String, CodingKey {
            case id, type, data
            case createdAt = "created_at"
        }
    }

    static func enqueue(_ type: WebhookOutbox.EventType, grant: Grant, catalog: ProviderCatalog, at now: Date, on db: any Database) async throws {
        guard let app = try await ClientApp.find(grant.$app.id, on: db), app.webhookURL != nil else { return }
        let info = try await GrantInfo.load(grant, catalog: catalog, on: db)
        let id = UUID()
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = Body(id: "evt_" + id.uuidString.lowercased().replacingOccurrences(of: "-", with: ""), type: type.rawValue, createdAt: now, data: .init(grant: info))
        let event = WebhookOutbox()
        event.id = id
        event.$app.id = try app.requireID()
        event.type = type.rawValue
        event.payload = String(decoding: try encoder.encode(body), as: UTF8.self)
        event.attempts = 0
        event.nextAttemptAt = now
        event.createdAt = now
        try await event.create(on: db)
    }
}
