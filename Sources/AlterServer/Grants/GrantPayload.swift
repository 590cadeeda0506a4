import FluentKit
import Foundation
import Vapor

/// A grant exactly in the seeds' `Grant` shape, as delivered to `onSuccess`.
struct GrantPayload: Content, Equatable {
    struct Metadata: Codable, Equatable {
        var accountDisplayName: String?
        var accountEmail: String?

        enum CodingKeys: String, CodingKey {
            case accountDisplayName = "account_display_name"
            case accountEmail = "account_email"
        }
    }

    var grantID: String
    var provider: String
    var providerName: String
    var accountIdentifier: String
    var timestamp: Date
    var operation: SessionGrant.Operation
    var scopes: [String]
    var status: Grant.WireStatus
    var metadata: Metadata?

    enum CodingKeys: String, CodingKey {
        case grantID = "grant_id"
        case provider
        case providerName = "provider_name"
        case accountIdentifier = "account_identifier"
        case timestamp, operation, scopes, status, metadata
    }

    init(grant: Grant, operation: SessionGrant.Operation, at date: Date, catalog: ProviderCatalog) throws {
        grantID = try grant.publicID()
        provider = grant.provider
        providerName = catalog[grant.provider]?.name ?? grant.provider
        accountIdentifier = grant.accountIdentifier
        timestamp = date
        self.operation = operation
        scopes = grant.scopes
        status = grant.wireStatus
        let metadata = Metadata(accountDisplayName: grant.accountDisplayName, accountEmail: grant.accountEmail)
        self.metadata = metadata.accountDisplayName == nil && metadata.accountEmail == nil ? nil : metadata
    }
}
