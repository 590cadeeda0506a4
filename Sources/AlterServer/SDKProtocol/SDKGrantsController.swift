import Fluent
import FluentKit
import Foundation
import Vapor

/// The SDK's grant calls: `list_grants` (`GrantListing`), `revoke_grant` (`GrantRevocation`)
/// and the background scope-mismatch report (an audit entry).
struct SDKGrantsController: RouteCollection {
    struct ListRequest: Decodable {
        var limit: Int?
        var offset: Int?
        var providerID: String?
        var status: String?
        var account: String?
        var label: String?
        var userToken: String?

        enum CodingKeys: String, CodingKey {
            case limit, offset, status, account, label
            case providerID = "provider_id"
            case userToken = "user_token"
        }
    }

    struct Item: Encodable {
        var grantKind = "oauth"
        var grantID: String
        var providerID: String
        var scopes: [String]
        var accountIdentifier: String
        var accountDisplayName: String?
        var status: String
        /// The protocol's flag for a grant only the user can repair (its refresh token was refused).
        var needsReconnect: Bool
        var expiresAt: Date?
        var createdAt: Date
        var lastUsedAt: Date? = nil
        var principalType: String
        var delegatedAgentIDs: [String]

        enum CodingKeys: String, CodingKey {
            case scopes, status
            case grantKind = "grant_kind"
            case grantID = "grant_id"
            case providerID = "provider_id"
            case accountIdentifier = "account_identifier"
            case accountDisplayName = "account_display_name"
            case needsReconnect = "needs_reconnect"
            case expiresAt = "expires_at"
            case createdAt = "created_at"
            case lastUsedAt = "last_used_at"
            case principalType = "principal_type"
            case delegatedAgentIDs = "delegated_agent_ids"
        }
    }

    /// One `list_grants` item: an OAuth grant or a managed-secret grant (`grant_kind`).
    enum AnyItem: Encodable {
        case oauth(Item)
        case secret(SecretGrantInfo)

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .oauth(let item): try item.encode(to: encoder)
            case .secret(let item): try item.encode(to: encoder)
            }
        }
    }

    struct ListResponse: Encodable {
        var grants: [AnyItem]
        var total: Int
        var limit: Int
        var offset: Int
        var hasMore: Bool

        enum CodingKeys: String, CodingKey {
            case grants, total, limit, offset
            case hasMore = "has_more"
        }
    }

    struct RevokeRequest: Decodable {
        var reason: String?
        var userToken: String?

        enum CodingKeys: String, CodingKey {
            case reason
            case userToken = "user_token"
        }
    }

    struct RevokeResponse: Encodable {
        var success: Bool
        var message: String
        var grantID: String
        var revokedAt: Date

        enum CodingKeys: String, CodingKey {
            case success, message
            case grantID = "grant_id"
            case revokedAt = "revoked_at"
        }
    }

    struct ScopeMismatchReport: Decodable {
        var providerStatusCode: Int?
        var missingScopes: [String]?

        enum CodingKeys: String, CodingKey {
            case providerStatusCode = "provider_status_code"
            case missingScopes = "missing_scopes"
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.sdkPost("grants", "list", use: list)
        routes.sdkPost("oauth", "grants", ":grant", "revoke", use: revoke)
        routes.sdkPost("grants", ":grant", "report-scope-mismatch", use: reportScopeMismatch)
    }

    /// An agent lists the grants delegated to it; the app, all of its grants.
    func list(request: Request) async throws -> Response {
        let caller = try request.caller
        let app = caller.app
        let body = try request.content.decode(ListRequest.self)
        let limit = body.limit ?? 100
        let offset = body.offset ?? 0
        guard (1...1000).contains(limit), offset >= 0 else { throw APIError.invalidRequest("limit must be 1–1000 and offset at least 0.") }
        // With a user_token: that user's grants only. Without: every grant of the app.
        var subject: String?
        if let userToken = body.userToken { subject = try await request.application.userTokenVerifier.verify(userToken, for: app) }
        if let raw = body.status, Grant.Status(rawValue: raw) == nil, !SecretGrantListing.statuses.contains(raw) {
            throw APIError.invalidRequest("status must be active, pending, error, revoked or expired.")
        }
        let status = body.status.flatMap(Grant.Status.init(rawValue:))
        // OAuth grants first, then managed-secret grants, as one list. OAuth grants have no
        // label and no "expired" state; managed-secret grants no account.
        let oauthListed = body.label == nil && (body.status == nil || status != nil)
        let listing = GrantListing(
            provider: body.providerID, userSubject: subject, delegatedTo: caller.agent, status: status, accountIdentifier: body.account)
        let page = oauthListed
            ? try await listing.page(appID: app.requireID(), limit: limit, offset: offset, on: request.db) : GrantListing.Page(grants: [], total: 0)
        let ids = try page.grants.map { try $0.requireID() }
        let delegations = try await Delegation.query(on: request.db).filter(\.$grant.$id ~~ ids).all()
        let items = try page.grants.map { grant in
            let id = try grant.requireID()
            return Item(
                grantID: id.lowercasedString, providerID: grant.provider, scopes: grant.scopes.filter { !$0.isEmpty },
                accountIdentifier: grant.accountIdentifier, accountDisplayName: grant.accountDisplayName, status: grant.status.rawValue,
                needsReconnect: grant.status == .error, expiresAt: grant.expiresAt, createdAt: grant.createdAt ?? Date(timeIntervalSince1970: 0),
                principalType: grant.user == nil ? "system" : "user",
                delegatedAgentIDs: delegations.filter { $0.$grant.id == id }.compactMap { $0.$agent.id?.lowercasedString }.sorted())
        }
        var secretItems: [SecretGrantInfo] = []
        var secretTotal = 0
        if body.account == nil, body.status.map(SecretGrantListing.statuses.contains) ?? true {
            let now = request.application.clock.now()
            let secrets = SecretGrantListing(slug: body.providerID, userSubject: subject, status: body.status, label: body.label, agentID: caller.agentID)
            let secretPage = try await secrets.page(
                appID: app.requireID(), now: now, limit: max(0, limit - items.count), offset: max(0, offset - page.total), on: request.db)
            secretItems = try secretPage.grants.map { try SecretGrantInfo($0.0, secret: $0.1, now: now) }
            secretTotal = secretPage.total
        }
        let all = items.map(AnyItem.oauth) + secretItems.map(AnyItem.secret)
        let total = page.total + secretTotal
        return try .sdkJSON(ListResponse(grants: all, total: total, limit: limit, offset: offset, hasMore: offset + all.count < total))
    }

    func revoke(request: Request) async throws -> Response {
        _ = try request.authenticatedApp  // the app's own key: an agent gives up a delegation instead (delegations/me)
        let body = try request.content.decode(RevokeRequest.self)
        let reason = body.reason.map { String($0.prefix(AuditEvent.maxReasonLength)) }
        if let revokedSecretGrant = try await revokeManagedSecretGrant(request: request, userToken: body.userToken, reason: reason) {
            return try .sdkJSON(revokedSecretGrant)
        }
        let reference = SDKGrantReference(grantID: request.parameters.get("grant"), userToken: body.userToken)
        let grant = try await reference.resolveModel(request)
        let revoked = try await GrantRevocation.revoke(grant, reason: reason, request: request)
        return try .sdkJSON(RevokeResponse(
            success: true, message: revoked.revokedAtProvider ? "Grant revoked, at the provider too." : "Grant revoked.",
            grantID: revoked.grantID.lowercasedString, revokedAt: revoked.at))
    }

    /// `revoke_grant` on a managed-secret grant: revoked through `ManagedSecrets` (as
    /// `DELETE /v1/secrets/{id}/grants/{grant_id}` is), after the one access rule; nil when the
    /// id names no secret grant of the app (then it is an OAuth grant id, or unknown).
    private func revokeManagedSecretGrant(request: Request, userToken: String?, reason: String?) async throws -> RevokeResponse? {
        let caller = try request.caller
        guard let raw = request.parameters.get("grant"), let id = UUID(text: raw) else { return nil }
        let secrets = ManagedSecrets(application: request.application, db: request.db, appID: try caller.app.requireID(), caller: request.alterCaller)
        guard let (grant, secret) = try await secrets.grant(id: id) else { return nil }
        var subject: String?
        if let userToken { subject = try await request.application.userTokenVerifier.verify(userToken, for: caller.app) }
        try await CredentialAccess.authorize(caller, toUse: .managedSecretGrant(grant, userSubject: subject), on: request.db)
        guard grant.status != .revoked else {
            throw APIError(.grantRevoked, "This grant was already revoked.", details: ["grant_id": id.lowercasedString])
        }
        try await secrets.revoke(grant, secret: secret, reason: reason)
        return RevokeResponse(success: true, message: "Grant revoked.", grantID: id.lowercasedString, revokedAt: request.application.clock.now())
    }

    /// The SDK saw the provider refuse a call for missing scopes: kept as an audit entry
    /// (status and the missing scopes as context), 204.
    func reportScopeMismatch(request: Request) async throws -> Response {
        let body = try request.content.decode(ScopeMismatchReport.self)
        let grant = try await SDKGrantReference(grantID: request.parameters.get("grant")).resolve(request)
        var event = AuditEntry(
            appID: grant.appID, grantID: grant.id, action: .scopeMismatch, caller: request.alterCaller, agent: nil,
            status: body.providerStatusCode, at: request.application.clock.now())
        if let missing = body.missingScopes?.prefix(50) { event.context = ["missing_scopes": missing.joined(separator: " ")] }
        request.application.auditLog.record(event)
        return Response(status: .noContent)
    }
}
