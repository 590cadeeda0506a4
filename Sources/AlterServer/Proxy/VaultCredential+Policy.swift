import Fluent
import FluentKit
import Foundation
import Vapor

extension VaultCredential {
    /// The use `PolicyCheck.enforce` evaluates, read from the records before anything is opened.
    func use(method: String?, url: String?, surface: CredentialUse.Surface, request: Request) throws -> CredentialUse {
        let agentID = request.storage[CallerKey.self]?.agentID
        switch self {
        case .oauth(let grant):
            return CredentialUse(
                appID: grant.appID, grantID: grant.id, provider: grant.provider, agentID: agentID,
                lifetimeStart: grant.lifetimeStart, grantTerms: grant.terms, method: method, url: url, surface: surface)
        case .secret(let grant, let secret):
            return CredentialUse(
                appID: grant.$app.id, grantID: try grant.requireID(), provider: secret.slug, agentID: agentID,
                lifetimeStart: grant.createdAt, grantTerms: nil, method: method, url: url, surface: surface)
        }
    }
}
