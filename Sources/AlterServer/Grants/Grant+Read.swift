import FluentKit
import Foundation
import SQLKit

extension Grant {
    /// The columns `read(id:appID:on:)` selects: every field of the model (a test compares a
    /// grant read this way with Fluent's own read of it, field by field).
    static let columns = [
        "id", "app_id", "provider", "account_identifier", "user_subject", "scopes", "status", "access_token", "refresh_token",
        "expires_at", "account_display_name", "account_email", "variables", "tokens_stored_at", "refreshed_at", "connected_at", "terms", "created_at", "updated_at",
    ]

    /// The read's statement, serialized once per dialect (`SerializedStatement`): the grant's
    /// row, and beside it the app's custom provider of the grant's provider id, if there is
    /// one (at most one: unique on app and provider). A custom-provider grant's call needs
    /// both, and a second query for the provider cost such a call a fifth more (issue 14).
    private static let readStatement = SerializedStatement { sql in
        let custom = CustomProvider.schema
        let sameProvider = SQLBinaryExpression(
            left: SQLBinaryExpression(SQLColumn("app_id", table: custom), .equal, SQLColumn("app_id", table: schema)), op: SQLBinaryOperator.and,
            right: SQLBinaryExpression(SQLColumn("provider", table: custom), .equal, SQLColumn("provider", table: schema)))
        return sql.select()
            .columns(columns.map { SQLColumn($0, table: schema) })
            .column(SQLColumn("definition", table: custom), as: "custom_definition")
            .column(SQLColumn("allows_private_network", table: custom), as: "custom_allows_private_network")
            .from(schema)
            .join(custom, method: .left, on: sameProvider)
            .where(SQLColumn("id", table: schema), .equal, SQLBind(UUID())).where(SQLColumn("app_id", table: schema), .equal, SQLBind(UUID()))
            .limit(1).query
    }

    /// One app's grant by id, read with one SQLKit query and decoded column by column.
    /// Every proxied call reads its grant; FluentKit's model decoding walks the properties by
    /// reflection on each read, which was most of the product's Fluent cost (issue 14). The
    /// grant comes back as Fluent would return it: marked as stored, so it can be deleted or saved.
    /// `direct`: on SQLite, read on the calling thread (`SQLiteDirectReads`), unless `db` is a
    /// transaction, which must see its own writes.
    static func read(id: UUID, appID: UUID, on db: any Database, direct: SQLiteDirectReads? = nil) async throws -> Grant? {
        // NULL checked first: a row's generic decode of an Optional goes through a Decoder and
        // its containers for every column, the plain type's through a direct conversion.
        func optional<T: Decodable>(_ row: any SQLRow, _ column: String, _ type: T.Type) throws -> T? {
            try row.decodeNil(column: column) ? nil : try row.decode(column: column, as: T.self)
        }
        guard let sql = db as? any SQLDatabase else {
            return try await Grant.query(on: db).filter(\.$id == id).filter(\.$app.$id == appID).first()
        }
        guard let row = try await readStatement.rows(on: sql, binds: [id, appID], direct: db.inTransaction ? nil : direct).first else { return nil }
        let grant = Grant()
        grant.id = try row.decode(column: "id", as: UUID.self)
        grant.$app.id = try row.decode(column: "app_id", as: UUID.self)
        grant.provider = try row.decode(column: "provider", as: String.self)
        grant.accountIdentifier = try row.decode(column: "account_identifier", as: String.self)
        grant.userSubject = try row.decode(column: "user_subject", as: String.self)
        grant.scopes = try row.decode(column: "scopes", as: [String].self)
        let status = try row.decode(column: "status", as: String.self)
        guard let known = Status(rawValue: status) else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "grant status \(status)")) }
        grant.status = known
        grant.sealedAccessToken = try row.decode(column: "access_token", as: String.self)
        grant.sealedRefreshToken = try optional(row, "refresh_token", String.self)
        grant.expiresAt = try optional(row, "expires_at", Date.self)
        grant.accountDisplayName = try optional(row, "account_display_name", String.self)
        grant.accountEmail = try optional(row, "account_email", String.self)
        grant.variables = try optional(row, "variables", [String: String].self)
        grant.tokensStoredAt = try optional(row, "tokens_stored_at", Date.self)
        grant.refreshedAt = try optional(row, "refreshed_at", Date.self)
        grant.connectedAt = try optional(row, "connected_at", Date.self)
        grant.terms = try optional(row, "terms", String.self)
        grant.createdAt = try optional(row, "created_at", Date.self)
        grant.updatedAt = try optional(row, "updated_at", Date.self)
        grant.$id.exists = true
        if let definition = try optional(row, "custom_definition", String.self) {
            let allowsPrivateNetwork = try row.decode(column: "custom_allows_private_network", as: Bool.self)
            grant.customProviderAtRead = .found(StoredCustomProvider(definition: definition, allowsPrivateNetwork: allowsPrivateNetwork))
        } else {
            grant.customProviderAtRead = .absent
        }
        return grant
    }
}

extension ProviderCatalog {
    /// The provider of `grant`, as `provider(_:forApp:on:)` finds it; without a query when
    /// `Grant.read` already read the app's custom provider along with the grant.
    func provider(of grant: Grant, on db: any Database) async throws -> CatalogProvider? {
        if let shipped = self[grant.provider] { return shipped }
        switch grant.customProviderAtRead {
        case .found(let stored): return entry(stored)
        case .absent: return nil
        case .notRead: return try await provider(grant.provider, forApp: grant.$app.id, on: db)
        }
    }
}
