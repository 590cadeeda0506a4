import FluentKit
import Foundation
import SQLKit

extension Grant {
    /// The columns `read(id:appID:on:)` selects: every field of `GrantRecord` (a test compares a
    /// grant read this way with Fluent's own read of it, field by field).
    static let columns = [
        "id", "app_id", "provider", "account_identifier", "user_subject", "scopes", "status", "access_token", "refresh_token",
        "expires_at", "variables", "tokens_stored_at", "refreshed_at", "connected_at", "terms", "created_at",
    ]

    /// The read's statement, serialized once per dialect (`SerializedStatement`) and prepared
    /// on PostgreSQL (`PreparedSQLStatement`): the grant's row, and beside it the app's custom
    /// provider of the grant's provider id, if there is one (at most one: unique on app and
    /// provider). A custom-provider grant's call needs both, and a second query for the
    /// provider cost such a call a fifth more (issue 14).
    private enum ReadStatement: PreparedSQLStatement {
        static let name = "alter_grant_read"
        static let statement = SerializedStatement { sql in
            let custom = CustomProvider.schema
            let sameProvider = SQLBinaryExpression(
                left: SQLBinaryExpression(SQLColumn("app_id", table: custom), .equal, SQLColumn("app_id", table: Grant.schema)), op: SQLBinaryOperator.and,
                right: SQLBinaryExpression(SQLColumn("provider", table: custom), .equal, SQLColumn("provider", table: Grant.schema)))
            return sql.select()
                .columns(Grant.columns.map { SQLColumn($0, table: Grant.schema) })
                .column(SQLColumn("definition", table: custom), as: "custom_definition")
                .column(SQLColumn("allows_private_network", table: custom), as: "custom_allows_private_network")
                .from(Grant.schema)
                .join(custom, method: .left, on: sameProvider)
                .where(SQLColumn("id", table: Grant.schema), .equal, SQLBind(UUID())).where(SQLColumn("app_id", table: Grant.schema), .equal, SQLBind(UUID()))
                .limit(1).query
        }
    }

    /// One app's grant by id, read with one SQLKit query and decoded column by column into a
    /// `GrantRecord`. Every proxied call reads its grant; FluentKit's model decoding walks the
    /// properties by reflection, and a model costs an object per field (issue 14).
    /// `direct`: on SQLite, read on the calling thread (`SQLiteDirectReads`), unless `db` is a
    /// transaction, which must see its own writes.
    static func read(id: UUID, appID: UUID, on db: any Database, direct: SQLiteDirectReads? = nil) async throws -> GrantRecord? {
        // NULL checked first: a row's generic decode of an Optional goes through a Decoder and
        // its containers for every column, the plain type's through a direct conversion.
        func optional<T: Decodable>(_ row: any SQLRow, _ column: String, _ type: T.Type) throws -> T? {
            try row.decodeNil(column: column) ? nil : try row.decode(column: column, as: T.self)
        }
        guard let sql = db as? any SQLDatabase else {
            return try await Grant.query(on: db).filter(\.$id == id).filter(\.$app.$id == appID).first().map(GrantRecord.init)
        }
        guard let row = try await ReadStatement.rows(on: sql, binds: [id, appID], direct: db.inTransaction ? nil : direct).first else { return nil }
        let status = try row.decode(column: "status", as: String.self)
        guard let known = Status(rawValue: status) else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "grant status \(status)")) }
        var custom = CustomProviderLookup.absent
        if let definition = try optional(row, "custom_definition", String.self) {
            let allowsPrivateNetwork = try row.decode(column: "custom_allows_private_network", as: Bool.self)
            custom = .found(StoredCustomProvider(definition: definition, allowsPrivateNetwork: allowsPrivateNetwork))
        }
        return GrantRecord(
            id: try row.decode(column: "id", as: UUID.self), appID: try row.decode(column: "app_id", as: UUID.self),
            provider: try row.decode(column: "provider", as: String.self),
            accountIdentifier: try row.decode(column: "account_identifier", as: String.self),
            userSubject: try row.decode(column: "user_subject", as: String.self), scopes: try row.decode(column: "scopes", as: [String].self),
            status: known, sealedAccessToken: try row.decode(column: "access_token", as: String.self),
            sealedRefreshToken: try optional(row, "refresh_token", String.self), expiresAt: try optional(row, "expires_at", Date.self),
            variables: try optional(row, "variables", [String: String].self), tokensStoredAt: try optional(row, "tokens_stored_at", Date.self),
            refreshedAt: try optional(row, "refreshed_at", Date.self), connectedAt: try optional(row, "connected_at", Date.self),
            terms: try optional(row, "terms", String.self), createdAt: try optional(row, "created_at", Date.self), customProviderAtRead: custom)
    }
}

extension ProviderCatalog {
    /// The provider of `grant`, as `provider(_:forApp:on:)` finds it; without a query when
    /// `Grant.read` already read the app's custom provider along with the grant.
    func provider(of grant: GrantRecord, on db: any Database) async throws -> CatalogProvider? {
        if let shipped = self[grant.provider] { return shipped }
        switch grant.customProviderAtRead {
        case .found(let stored): return entry(stored)
        case .absent: return nil
        case .notRead: return try await provider(grant.provider, forApp: grant.appID, on: db)
        }
    }
}
