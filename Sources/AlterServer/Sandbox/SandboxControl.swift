import FluentKit
import Foundation
import SQLKit

/// The sandbox's switches and counters: one database row, so every server instance sharing
/// the database (and every test process) sees the same provider behaviour and counts.
final class SandboxControl: Model, @unchecked Sendable {
    static let schema = "sandbox_control"
    /// The one row's id.
    static let rowID = UUID(text: "5A4DB0C5-0000-4000-8000-000000000001")!
    static let defaultAccessTokenTTL = 3600

    @ID(key: .id) var id: UUID?
    /// Send `Cross-Origin-Opener-Policy: same-origin` on the consent page.
    @Field(key: "coop") var coop: Bool
    /// Answer every authorization request with this error instead of a consent page.
    @OptionalField(key: "error") var error: String?
    /// Answer every token request with this error (5xx).
    @OptionalField(key: "token_error") var tokenError: String?
    /// Treat every refresh token as revoked.
    @Field(key: "revoke_refresh") var revokeRefresh: Bool
    @Field(key: "access_token_ttl") var accessTokenTTL: Int
    /// Delay before the token endpoint answers, in milliseconds.
    @Field(key: "slow_ms") var slowMS: Int
    @Field(key: "refresh_count") var refreshCount: Int
    @Field(key: "token_requests") var tokenRequests: Int
    @Field(key: "api_calls") var apiCalls: Int

    init() {}

    static func defaults() -> SandboxControl {
        let control = SandboxControl()
        control.id = rowID
        control.resetToDefaults()
        return control
    }

    func resetToDefaults() {
        coop = false
        error = nil
        tokenError = nil
        revokeRefresh = false
        accessTokenTTL = Self.defaultAccessTokenTTL
        slowMS = 0
        refreshCount = 0
        tokenRequests = 0
        apiCalls = 0
    }

    /// The row (recreated with defaults if someone deleted it).
    static func current(on database: any Database) async throws -> SandboxControl {
        if let control = try await SandboxControl.find(rowID, on: database) { return control }
        let control = defaults()
        try await control.create(on: database)
        return control
    }

    enum Counter: String, Sendable {
        case refreshCount = "refresh_count"
        case tokenRequests = "token_requests"
        case apiCalls = "api_calls"
    }

    /// `counter = counter + 1` in SQL: a read-modify-write in Swift would lose counts when
    /// two instances (or two requests) count at once.
    static func increment(_ counter: Counter, on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { throw SandboxStorageError.notSQL }
        try await sql.update(schema)
            .set(counter.rawValue, to: SQLBinaryExpression(SQLColumn(counter.rawValue), .add, SQLLiteral.numeric("1")))
            .run()
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(SandboxControl.schema)
                .id()
                .field("coop", .bool, .required)
                .field("error", .string)
                .field("token_error", .string)
                .field("revoke_refresh", .bool, .required)
                .field("access_token_ttl", .int, .required)
                .field("slow_ms", .int, .required)
                .field("refresh_count", .int, .required)
                .field("token_requests", .int, .required)
                .field("api_calls", .int, .required)
                .create()
            try await SandboxControl.defaults().create(on: database)
        }

        func revert(on database: any Database) async throws {
            try await database.schema(SandboxControl.schema).delete()
        }
    }
}
