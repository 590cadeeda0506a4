import Fluent
import FluentKit
import Foundation
import Vapor

/// How the SDK names a grant (`grant_id`, or `provider_id` + `account` with the end user's
/// `user_token`), resolved by the one `GrantResolver`. Its `ambiguous_grant` is re-worded in
/// the SDK's shape: `account_identifiers`, `grant_ids` and `candidates`.
struct SDKGrantReference: Decodable {
    var grantID: String?
    var providerID: String?
    var account: String?
    var userToken: String?

    enum CodingKeys: String, CodingKey {
        case account
        case grantID = "grant_id"
        case providerID = "provider_id"
        case userToken = "user_token"
    }

    func resolve(_ request: Request) async throws -> GrantRecord {
        try await sdkErrors(request) { reference in try await GrantResolver(request: request, caller: request.caller).resolve(reference) }
    }

    /// The grant as a model, for what changes it (revocation).
    func resolveModel(_ request: Request) async throws -> Grant {
        try await sdkErrors(request) { reference in try await GrantResolver(request: request, caller: request.caller).resolveModel(reference) }
    }

    /// An OAuth grant or a managed-secret grant (`CredentialResolver`), for the calls that take either.
    func resolveCredential(_ request: Request) async throws -> VaultCredential {
        try await sdkErrors(request) { reference in try await CredentialResolver(request: request, caller: request.caller).resolve(reference) }
    }

    private func sdkErrors<T>(_ request: Request, _ resolve: (GrantResolver.Reference) async throws -> T) async throws -> T {
        let reference = GrantResolver.Reference(grantID: grantID, userToken: userToken, provider: providerID, accountIdentifier: account)
        do {
            return try await resolve(reference)
        } catch let error as APIError where error.code == .ambiguousGrant && error.details?["accounts"] != nil {
            let ids = (error.details?["grant_ids"] ?? "").split(separator: ",").compactMap { UUID(text: String($0)) }
            let grants = try await Grant.query(on: request.db).filter(\.$id ~~ ids).sort(\.$accountIdentifier).all()
            let candidates: [WireValue] = try grants.map { grant in
                .object([
                    "grant_id": .string(try grant.publicID()), "label": .null,
                    "account_identifier": .string(grant.accountIdentifier), "account_display_name": .optional(grant.accountDisplayName),
                ])
            }
            throw SDKError(
                status: .conflict, code: "ambiguous_grant",
                message: "Several \(providerID ?? "") accounts are connected for this user; pass account= to choose one.",
                fields: [
                    "provider_id": .optional(providerID), "account_was_provided": .bool(account != nil),
                    "account_identifiers": .array(grants.map { .string($0.accountIdentifier) }),
                    "grant_ids": .array(try grants.map { .string(try $0.publicID()) }),
                    "candidates": .array(candidates),
                ])
        }
    }
}
