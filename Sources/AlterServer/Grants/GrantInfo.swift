import FluentKit
import Foundation
import Vapor

/// A grant as the server API and webhooks describe it (docs/api.md).
struct GrantInfo: Content, Equatable {
    var grantID: String
    var provider: String
    var providerName: String
    var accountIdentifier: String
    var status: Grant.WireStatus
    var scopes: [String]
    var metadata: GrantPayload.Metadata?
    var user: String?
    var agents: [String]
    var createdAt: Date?
    var updatedAt: Date?
    var expiresAt: Date?

    enum CodingKeys: String, CodingKey {
        case provider, status, scopes, metadata, user, agents
        case grantID = "grant_id"
        case providerName = "provider_name"
        case accountIdentifier = "account_identifier"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case expiresAt = "expires_at"
    }

    init(grant: Grant, agents: [String], catalog: ProviderCatalog) throws {
        grantID = try grant.publicID()
        provider = grant.provider
        providerName = catalog[grant.provider]?.name ?? grant.provider
        accountIdentifier = grant.accountIdentifier
        status = grant.wireStatus
        scopes = grant.scopes
        let metadata = GrantPayload.Metadata(accountDisplayName: grant.accountDisplayName, accountEmail: grant.accountEmail)
        self.metadata = metadata.accountDisplayName == nil && metadata.accountEmail == nil ? nil : metadata
        user = grant.user
        self.agents = agents.sorted()
        createdAt = grant.createdAt
        updatedAt = grant.updatedAt
        expiresAt = grant.expiresAt
    }

    static func load(_ grant: Grant, catalog: ProviderCatalog, on db: any Database) async throws -> GrantInfo {
        let agents = try await Delegation.query(on: db).filter(\.$grant.$id == grant.requireID()).all(\.$agentName)
        return try GrantInfo(grant: grant, agents: agents, catalog: catalog)
    }
}
