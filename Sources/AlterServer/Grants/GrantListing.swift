import Fluent
import FluentKit
import Foundation
import Vapor

/// The grants of an app that match a filter, oldest first, for `GET /v1/grants` and the
/// SDK's `/sdk/grants/list`.
struct GrantListing {
    var provider: String?
    /// The end user's `sub`; `""` selects the app's own grants, nil every grant.
    var userSubject: String?
    var agent: String?
    var status: Grant.Status?
    var accountIdentifier: String?

    struct Page {
        let grants: [Grant]
        /// Every match, not only this page's.
        let total: Int
    }

    func page(appID: UUID, limit: Int? = nil, offset: Int = 0, on db: any Database) async throws -> Page {
        var query = Grant.query(on: db).filter(\.$app.$id == appID)
        if let provider { query = query.filter(\.$provider == provider) }
        if let userSubject { query = query.filter(\.$userSubject == userSubject) }
        if let status { query = query.filter(\.$status == status) }
        if let accountIdentifier { query = query.filter(\.$accountIdentifier == accountIdentifier) }
        if let agent {
            let delegated = try await Delegation.query(on: db).filter(\.$agent == agent).all(\.$grant.$id)
            query = query.filter(\.$id ~~ delegated)
        }
        let total = try await query.copy().count()
        query = query.sort(\.$createdAt).sort(\.$id)
        if let limit { query = query.range(offset..<(offset + limit)) } else if offset > 0 { query = query.offset(offset) }
        return Page(grants: try await query.all(), total: total)
    }
}
