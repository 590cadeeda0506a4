import Fluent
import FluentKit
import Foundation

/// The audit entries of one app that match a filter, newest first: for `GET /v1/audit` and
/// the portal's audit page and CSV export.
struct AuditQuery {
    let appID: UUID
    var grantID: UUID?
    var action: AuditEvent.Action?
    var caller: String?

    func events(limit: Int, offset: Int = 0, on db: any Database) async throws -> [AuditEvent] {
        var query = AuditEvent.query(on: db).filter(\.$app.$id == appID)
        if let grantID { query = query.filter(\.$grantID == grantID) }
        if let action { query = query.filter(\.$action == action) }
        if let caller { query = query.filter(\.$caller == caller) }
        return try await query.sort(\.$at, .descending).sort(\.$id, .descending).range(offset..<(offset + limit)).all()
    }
}
