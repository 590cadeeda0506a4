import FluentKit
import Foundation

/// A grant as one call uses it: the stored fields in a plain struct, read without making a
/// Fluent model (`Grant.read`). Every proxied call and token hand-out resolves one;
/// the `Grant` model costs an object per field to make and to free and a dynamic cast on
/// every read of a field, 5% of a proxied call's CPU (issue 14). What changes a grant
/// (refresh, revocation, connect) reads and saves the model, under its own lock or transaction.
struct GrantRecord: Sendable, Equatable {
    let id: UUID
    let appID: UUID
    let provider: String
    let accountIdentifier: String
    let userSubject: String
    let scopes: [String]
    let status: Grant.Status
    let sealedAccessToken: String
    let sealedRefreshToken: String?
    let expiresAt: Date?
    let variables: [String: String]?
    let tokensStoredAt: Date?
    let refreshedAt: Date?
    let connectedAt: Date?
    let terms: String?
    let createdAt: Date?
    /// The app's custom provider of this grant's provider id, as `read` found it in the same
    /// query; `notRead` for a record made from a model. `ProviderCatalog.provider(of:on:)` uses
    /// it instead of reading the provider again.
    var customProviderAtRead: CustomProviderLookup = .notRead

    /// The record of a grant read as a model (by provider, or again after a refresh).
    init(_ grant: Grant) throws {
        id = try grant.requireID()
        appID = grant.$app.id
        provider = grant.provider
        accountIdentifier = grant.accountIdentifier
        userSubject = grant.userSubject
        scopes = grant.scopes
        status = grant.status
        sealedAccessToken = grant.sealedAccessToken
        sealedRefreshToken = grant.sealedRefreshToken
        expiresAt = grant.expiresAt
        variables = grant.variables
        tokensStoredAt = grant.tokensStoredAt
        refreshedAt = grant.refreshedAt
        connectedAt = grant.connectedAt
        terms = grant.terms
        createdAt = grant.createdAt
    }

    init(
        id: UUID, appID: UUID, provider: String, accountIdentifier: String, userSubject: String, scopes: [String], status: Grant.Status,
        sealedAccessToken: String, sealedRefreshToken: String?, expiresAt: Date?, variables: [String: String]?, tokensStoredAt: Date?,
        refreshedAt: Date?, connectedAt: Date?, terms: String?, createdAt: Date?, customProviderAtRead: CustomProviderLookup
    ) {
        self.id = id
        self.appID = appID
        self.provider = provider
        self.accountIdentifier = accountIdentifier
        self.userSubject = userSubject
        self.scopes = scopes
        self.status = status
        self.sealedAccessToken = sealedAccessToken
        self.sealedRefreshToken = sealedRefreshToken
        self.expiresAt = expiresAt
        self.variables = variables
        self.tokensStoredAt = tokensStoredAt
        self.refreshedAt = refreshedAt
        self.connectedAt = connectedAt
        self.terms = terms
        self.createdAt = createdAt
        self.customProviderAtRead = customProviderAtRead
    }

    /// Where a lifetime counts from, as for the model (`Grant.lifetimeStart`).
    var lifetimeStart: Date? { Grant.lifetimeStart(connectedAt: connectedAt, createdAt: createdAt) }

    /// The end user the grant belongs to, as for the model (`Grant.user`); nil for an anonymous grant.
    var user: String? { Grant.user(ofSubject: userSubject) }

    func accessToken(using sealer: Sealer) throws -> String {
        try Grant.open(sealedAccessToken, .accessToken, grantID: id, using: sealer)
    }
}
