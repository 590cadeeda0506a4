import FluentKit
import Foundation

/// A grant's webhook events: `{"grant": GrantInfo}` as the event's data.
enum GrantEvents {
    struct Data: Encodable {
        let grant: GrantInfo
    }

    static func enqueue(_ type: WebhookOutbox.EventType, grant: Grant, catalog: ProviderCatalog, at now: Date, on db: any Database) async throws {
        try await WebhookEvents.enqueue(type, appID: grant.$app.id, at: now, on: db) {
            Data(grant: try await GrantInfo.load(grant, catalog: catalog, on: db))
        }
    }
}
