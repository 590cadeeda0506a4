import Fluent
import FluentKit
import Foundation
import Vapor

/// Finds the grant a call is about — by id, or by the end user's JWT + provider — among the
/// calling app's grants only. Another app's grant answers exactly like an unknown one.
struct GrantResolver {
    let request: Request
    let app: ClientApp

    struct Reference {
        var grantID: String?
        var userToken: String?
        var provider: String?
        var accountIdentifier: String?
        var agent: String?
    }

    static let notFound = APIError(.grantNotFound, "No such grant for this app.")

    func resolve(_ reference: Reference) async throws -> Grant {
        let grant: Grant
        if let raw = reference.grantID {
            guard let id = UUID(uuidString: raw),
                let found = try await Grant.query(on: request.db).filter(\.$id == id).filter(\.$app.$id == (try app.requireID())).first()
            else { throw Self.notFound }
            grant = found
        } else if let userToken = reference.userToken, let provider = reference.provider {
            let subject = try await request.application.userTokenVerifier.verify(userToken, for: app)
            var query = Grant.query(on: request.db).filter(\.$app.$id == (try app.requireID())).filter(\.$provider == provider)
                .filter(\.$userSubject == subject)
            if let account = reference.accountIdentifier { query = query.filter(\.$accountIdentifier == account) }
            let matches = try await query.sort(\.$accountIdentifier).all()
            guard let first = matches.first else { throw Self.notFound }
            guard matches.count == 1 else {
                throw APIError(
                    .ambiguousGrant, "This user connected several \(provider) accounts; send account_identifier to pick one.", details: ["accounts": matches.map(\.accountIdentifier).joined(separator: ",")])
            }
            grant = first
        } else {
            throw APIError.invalidRequest("Send grant_id, or user_token and provider.")
        }
        if let agent = reference.agent {
            let delegated = try await Delegation.query(on: request.db).filter(\.$grant.$id == (try grant.requireID())).filter(\.$agent == agent).first()
            guard delegated != nil else {
                throw APIError(.agentNotDelegated, "This grant is not delegated to agent \(agent).")
            }
        }
        return grant
    }
}
