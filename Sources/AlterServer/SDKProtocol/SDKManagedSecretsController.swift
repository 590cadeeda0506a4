import Fluent
import FluentKit
import Foundation
import Vapor

/// `POST /sdk/managed-secrets/{id}/grants` (`create_managed_secret_grant`): a grant of one of
/// the app's managed secrets to a user (`user_token`) or the app itself (system), through
/// `ManagedSecrets`. As the SDK documents, agent principals are refused here with 422: an
/// agent's grant is an operator action (`alter secrets grant --agent`, `/v1/secrets/{id}/grants`).
struct SDKManagedSecretsController: RouteCollection {
    struct CreateGrant: Decodable {
        var principal: SecretPrincipalInput?
        var grantPolicy: SecretGrantPolicyInput?
        var credentialID: String?

        enum CodingKeys: String, CodingKey {
            case principal
            case grantPolicy = "grant_policy"
            case credentialID = "credential_id"
        }
    }

    struct Created: Encodable {
        var grantID: String
        var principalType: String
        var label: String?
        var createdAt: Date
        var credentialID: String

        enum CodingKeys: String, CodingKey {
            case label
            case grantID = "grant_id"
            case principalType = "principal_type"
            case createdAt = "created_at"
            case credentialID = "credential_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(grantID, forKey: .grantID)
            try container.encode(principalType, forKey: .principalType)
            // The SDK requires the key, null or not.
            try container.encode(label, forKey: .label)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(credentialID, forKey: .credentialID)
        }
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.sdkPost("managed-secrets", ":secret", "grants", use: createGrant)
    }

    func createGrant(request: Request) async throws -> Response {
        let app = try request.authenticatedApp.app
        let store = ManagedSecrets(application: request.application, db: request.db, appID: try app.requireID(), caller: request.alterCaller)
        // The SDK names the secret by its id (a UUID), never its slug.
        guard let raw = request.parameters.get("secret"), UUID(text: raw) != nil else { throw ManagedSecrets.notFound }
        let secret = try await store.find(raw)
        let body = try request.content.decode(CreateGrant.self)
        if let credential = body.credentialID, credential != secret.id?.lowercasedString {
            throw APIError(.grantNotFound, "credential_id is not a credential of this managed secret (each secret holds one, its own id).")
        }
        if body.principal?.type == "agent" {
            throw SDKError(
                status: .unprocessableEntity, code: "agent_principal_not_allowed",
                message: "Agent principals cannot be granted through the SDK; use `alter secrets grant --agent` or POST /v1/secrets/{id}/grants.")
        }
        let principal = try await store.principal(body.principal, app: app)
        let now = request.application.clock.now()
        let grant = try await store.grant(secret, to: principal, label: body.principal?.label, policy: try (body.grantPolicy ?? .init()).policy(now: now))
        return try .sdkJSON(
            Created(
                grantID: try grant.requireID().lowercasedString, principalType: grant.principalType.rawValue, label: grant.label,
                createdAt: grant.createdAt ?? now, credentialID: try secret.requireID().lowercasedString),
            status: .created)
    }
}
