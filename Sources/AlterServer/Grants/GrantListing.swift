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
    /// Only the grants delegated to this agent.
    var delegatedTo: Agent?
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
        if let delegatedTo {
            query = query.filter(\.$id ~~ Array(try await CredentialAccess.delegatedGrantIDs(to: delegatedTo, on: db)))
        }
        let total = try await query.copy().count()
        query = query.sort(\.$createdAt).sort(\.$id)
        if let limit { query = query.range(offset..<(offset + limit)) } else if offset > 0 { query = query.offset(offset) }
        return Page(grants: try await query.all(), total: total)
    }
}
