import FluentKit
import Foundation

/// A grant made (or re-authorized) within a Connect session: what the session's result lists.
final class SessionGrant: Model, @unchecked Sendable {
    static let schema = "connect_session_grants"

    enum Operation: String, Codable, Sendable {
        case creation, reauth
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "session_id") var session: ConnectSession
    @Parent(key: "grant_id") var grant: Grant
    @Field(key: "operation") var operation: Operation
    @Field(key: "connected_at") var connectedAt: Date

    init() {}

    init(sessionID: UUID, grantID: UUID, operation: Operation, at date: Date) {
        self.id = UUID()
        self.$session.id = sessionID
        self.$grant.id = grantID
        self.operation = operation
        self.connectedAt = date
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(SessionGrant.schema)
                .id()
                .field("session_id", .uuid, .required, .references(ConnectSession.schema, .id, onDelete: .cascade))
                .field("grant_id", .uuid, .required, .references(Grant.schema, .id, onDelete: .cascade))
                .field("operation", .string, .required)
                .field("connected_at", .datetime, .required)
                .unique(on: "session_id", "grant_id")
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(SessionGrant.schema).delete()
        }
    }
}
