import FluentKit
import Foundation

/// One thing done with a grant: who (app, caller, agent), what (action, method, host), the
/// outcome (status), when. Never tokens, bodies, paths or query strings.
final class AuditEvent: Model, @unchecked Sendable {
    static let schema = "audit_events"

    enum Action: String, Codable, Sendable {
        case proxy, token, refresh, revoke
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "app_id") var app: ClientApp
    @OptionalField(key: "grant_id") var grantID: UUID?
    @Field(key: "action") var action: Action
    @OptionalField(key: "caller") var caller: String?
    @OptionalField(key: "agent") var agent: String?
    @OptionalField(key: "method") var method: String?
    @OptionalField(key: "host") var host: String?
    @OptionalField(key: "status") var status: Int?
    @Field(key: "at") var at: Date

    init() {}

    init(appID: UUID, grantID: UUID?, action: Action, caller: String?, agent: String?, method: String? = nil, host: String? = nil, status: Int?, at: Date) {
        self.id = UUID()
        self.$app.id = appID
        self.grantID = grantID
        self.action = action
        self.caller = caller
        self.agent = agent
        self.method = method
        self.host = host
        self.status = status
        self.at = at
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(AuditEvent.schema)
                .id()
                .field("app_id", .uuid, .required, .references(ClientApp.schema, .id, onDelete: .cascade))
                .field("grant_id", .uuid)
                .field("action", .string, .required)
                .field("caller", .string)
                .field("agent", .string)
                .field("method", .string)
                .field("host", .string)
                .field("status", .int)
                .field("at", .datetime, .required)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(AuditEvent.schema).delete()
        }
    }
}
