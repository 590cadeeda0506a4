import FluentKit
import Foundation
import Vapor

/// How a managed secret reads on the wire: everything but its value.
struct SecretInfo: Content {
    struct Injection: Content {
        var kind: String
        var header: String?
        var format: String?
        var queryParameter: String?
        var extraHeaders: [String: String]

        enum CodingKeys: String, CodingKey {
            case kind, header, format
            case queryParameter = "query_parameter"
            case extraHeaders = "extra_headers"
        }
    }

    var id: String
    var slug: String
    var name: String
    var template: String
    var injection: Injection
    var allowedHosts: [String]
    var allowPrivateNetwork: Bool
    var createdAt: Date?
    var updatedAt: Date?
    var rotatedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, slug, name, template, injection
        case allowedHosts = "allowed_hosts"
        case allowPrivateNetwork = "allow_private_network"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case rotatedAt = "rotated_at"
    }

    init(_ secret: ManagedSecret) throws {
        let injection = secret.injection
        id = try secret.requireID().lowercasedString
        slug = secret.slug
        name = secret.name
        template = secret.template
        self.injection = .init(
            kind: injection.kind.rawValue, header: injection.header, format: injection.format, queryParameter: injection.queryParameter,
            extraHeaders: Dictionary(uniqueKeysWithValues: injection.extraFields.map { ($0.name, $0.header) }))
        allowedHosts = secret.allowedHosts
        allowPrivateNetwork = secret.allowsPrivateNetwork
        createdAt = secret.createdAt
        updatedAt = secret.updatedAt
        rotatedAt = secret.rotatedAt
    }
}

/// A grant of a managed secret on the wire (`/v1`, and the SDK's `list_grants` item with
/// `grant_kind: "managed_secret"`).
struct SecretGrantInfo: Content {
    struct Policy: Content {
        var expiresAt: Date?
        var maxTTLSeconds: Int?
        var defaultTTLSeconds: Int?
        var createdBy = "developer"
        var createdAt: Date?

        enum CodingKeys: String, CodingKey {
            case expiresAt = "expires_at"
            case maxTTLSeconds = "max_ttl_seconds"
            case defaultTTLSeconds = "default_ttl_seconds"
            case createdBy = "created_by"
            case createdAt = "created_at"
        }
    }

    var grantKind = "managed_secret"
    var grantID: String
    var managedSecretID: String
    var managedSecretSlug: String
    var managedSecretName: String
    var principalType: String
    var agentID: String?
    var label: String?
    /// `active`, `revoked`, or `expired` once the policy's `expires_at` has passed.
    var status: String
    var grantPolicy: Policy?
    var expiresAt: Date?
    var grantExpiresAt: Date?
    var createdAt: Date
    var lastUsedAt: Date?

    enum CodingKeys: String, CodingKey {
        case label, status
        case grantKind = "grant_kind"
        case grantID = "grant_id"
        case managedSecretID = "managed_secret_id"
        case managedSecretSlug = "managed_secret_slug"
        case managedSecretName = "managed_secret_name"
        case principalType = "principal_type"
        case agentID = "agent_id"
        case grantPolicy = "grant_policy"
        case expiresAt = "expires_at"
        case grantExpiresAt = "grant_expires_at"
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }

    init(_ grant: SecretGrant, secret: ManagedSecret, now: Date) throws {
        grantID = try grant.requireID().lowercasedString
        managedSecretID = try secret.requireID().lowercasedString
        managedSecretSlug = secret.slug
        managedSecretName = secret.name
        principalType = grant.principalType.rawValue
        agentID = grant.agentID?.lowercasedString
        label = grant.label
        status = grant.status == .revoked ? "revoked" : grant.isExpired(at: now) ? "expired" : "active"
        let hasPolicy = grant.expiresAt != nil || grant.maxTTLSeconds != nil || grant.defaultTTLSeconds != nil
        grantPolicy = hasPolicy
            ? Policy(expiresAt: grant.expiresAt, maxTTLSeconds: grant.maxTTLSeconds, defaultTTLSeconds: grant.defaultTTLSeconds, createdAt: grant.createdAt)
            : nil
        expiresAt = grant.expiresAt
        grantExpiresAt = grant.expiresAt
        createdAt = grant.createdAt ?? Date(timeIntervalSince1970: 0)
        lastUsedAt = grant.lastUsedAt
    }
}

/// Who a new secret grant is for, as `/v1` and the SDK's `create_managed_secret_grant` send
/// it: `{type: user, user_token, label}`, `{type: system, label?}` or `{type: agent, agent_id, label?}`.
struct SecretPrincipalInput: Decodable, Sendable {
    var type: String?
    var userToken: String?
    var agentID: String?
    var label: String?

    enum CodingKeys: String, CodingKey {
        case type, label
        case userToken = "user_token"
        case agentID = "agent_id"
    }
}

/// `grant_policy` as sent; unknown keys are refused (as the SDK's backend does).
struct SecretGrantPolicyInput: Decodable, Sendable {
    var expiresAt: String?
    var maxTTLSeconds: Int?
    var defaultTTLSeconds: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case expiresAt = "expires_at"
        case maxTTLSeconds = "max_ttl_seconds"
        case defaultTTLSeconds = "default_ttl_seconds"
    }

    init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = keys.first(where: { CodingKeys(rawValue: $0) == nil }) {
            throw APIError.invalidRequest("grant_policy.\(unknown.prefix(60)) is not a policy field (expires_at, max_ttl_seconds, default_ttl_seconds).")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        expiresAt = try container.decodeIfPresent(String.self, forKey: .expiresAt)
        maxTTLSeconds = try container.decodeIfPresent(Int.self, forKey: .maxTTLSeconds)
        defaultTTLSeconds = try container.decodeIfPresent(Int.self, forKey: .defaultTTLSeconds)
    }

    init() {}

    func policy(now: Date) throws -> SecretGrantPolicy {
        do {
            return try SecretGrantPolicy(expiresAt: expiresAt, maxTTLSeconds: maxTTLSeconds, defaultTTLSeconds: defaultTTLSeconds, now: now)
        } catch { throw APIError.invalidRequest(error.description) }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

extension ManagedSecrets {
    /// The principal a grant is for; a `user_token` is verified against the app's identity config.
    func principal(_ input: SecretPrincipalInput?, app: ClientApp) async throws -> Principal {
        guard let input, let type = input.type else { throw APIError.invalidRequest("principal.type is required: user, system or agent.") }
        switch type {
        case "user":
            guard let token = input.userToken, !token.isEmpty else { throw APIError.invalidRequest("principal.user_token is required for a user principal.") }
            return .user(subject: try await application.userTokenVerifier.verify(token, for: app))
        case "system": return .system
        case "agent":
            guard let reference = input.agentID, !reference.isEmpty else { throw APIError.invalidRequest("principal.agent_id (an agent's id or name) is required for an agent principal.") }
            return .agent(try await agentOfApp(reference))
        case "group": throw APIError.invalidRequest("Group principals are not supported: this vault has no identity-provider groups.")
        default: throw APIError.invalidRequest("principal.type must be user, system or agent.")
        }
    }
}
