import Fluent
import Foundation
import Vapor

/// `POST /v1/connect/sessions` body: the seeds' `create_connect_session` fields.
struct CreateConnectSessionRequest: Content {
    var allowedProviders: [String]?
    var allowedOrigin: String?
    var userToken: String?
    var agent: String?
    var returnURL: String?
    var metadata: [String: String]?
    var repairGrantID: String?
    var grantPolicy: LooseJSON?
    var requestedGrant: LooseJSON?

    enum CodingKeys: String, CodingKey {
        case allowedProviders = "allowed_providers"
        case allowedOrigin = "allowed_origin"
        case userToken = "user_token"
        case agent, metadata
        case repairGrantID = "repair_grant_id"
        case returnURL = "return_url"
        case grantPolicy = "grant_policy"
        case requestedGrant = "requested_grant"
    }

    var order: SessionMinter.Order {
        .init(
            allowedProviders: allowedProviders, allowedOrigin: allowedOrigin, returnURL: returnURL, userToken: userToken, agent: agent,
            metadata: metadata, repairGrantID: repairGrantID, grantPolicy: grantPolicy, requestedGrant: requestedGrant)
    }
}

struct CreateConnectSessionResponse: Content {
    var sessionToken: String
    var connectURL: String
    var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case sessionToken = "session_token"
        case connectURL = "connect_url"
        case expiresAt = "expires_at"
    }
}

/// The checked form of a mint request. Every rule lives here, as a pure function of the
/// request, the app and its configured providers, so the controller only stores the result.
enum ConnectSessionRules {
    struct Accepted {
        var providers: [String]
        var origin: AllowedOrigin
        var returnURL: String?
        var agent: String?
        var metadata: [String: String]?
        var repairGrantID: UUID?
        /// What the session's grants get: lifetime and restrictions, enforced by `PolicyCheck`.
        var terms: GrantTerms?
    }

    static func check(_ request: SessionMinter.Order, app: ClientApp, configuredProviders: [String]) throws -> Accepted {
        let providers = try providers(requested: request.allowedProviders, configured: configuredProviders)
        let origin = try origin(requested: request.allowedOrigin, websiteURL: app.websiteURL)
        var returnURL: String?
        if let raw = request.returnURL {
            do {
                returnURL = try ReturnURL(validating: raw, for: origin).value
            } catch {
                throw APIError(.invalidReturnURL, "return_url \(error.rule).")
            }
        }
        if let agent = request.agent {
            guard (1...128).contains(agent.count),
                agent.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:@/".contains($0)) })
            else {
                throw APIError.invalidRequest("agent must be 1–128 characters of letters, digits and - _ . : @ /.")
            }
        }
        if let metadata = request.metadata {
            // Lengths in Unicode scalars, as JSON Schema's maxLength (the OpenAPI description) counts them.
            guard metadata.count <= 16, metadata.allSatisfy({ (1...64).contains($0.key.unicodeScalars.count) && $0.value.unicodeScalars.count <= 512 }) else {
                throw APIError.invalidRequest("metadata may hold at most 16 entries, with keys of 1–64 and values of at most 512 characters.")
            }
        }
        var repair: UUID?
        if let raw = request.repairGrantID {
            guard let id = UUID(text: raw), id.lowercasedString == raw, request.allowedProviders?.count == 1 else {
                throw APIError.invalidRequest("repair_grant_id must be a grant id (a lowercase UUID) sent with exactly one provider in allowed_providers.")
            }
            repair = id
        }
        let terms = try GrantTerms(grantPolicy: request.grantPolicy, requestedGrant: request.requestedGrant)
        return Accepted(
            providers: providers, origin: origin, returnURL: returnURL, agent: request.agent, metadata: request.metadata, repairGrantID: repair,
            terms: terms)
    }

    /// Omitted → every configured provider; listed → the configured ones among them, in the
    /// caller's order. Unknown or unconfigured ids are filtered out, as the seeds describe.
    static func providers(requested: [String]?, configured: [String]) throws -> [String] {
        guard let requested else {
            guard !configured.isEmpty else {
                throw APIError(.noProviders, "This app has no providers configured; configure one with `alter providers configure`.")
            }
            return configured.sorted()
        }
        guard requested.count <= 100 else { throw APIError.invalidRequest("allowed_providers may list at most 100 providers.") }
        var seen = Set<String>()
        let kept = requested.filter { configured.contains($0) && seen.insert($0).inserted }
        guard !kept.isEmpty else {
            throw APIError(
                .noProviders, "None of allowed_providers is configured for this app.",
                details: ["configured": configured.sorted().joined(separator: ",")])
        }
        return kept
    }

    static func origin(requested: String?, websiteURL: String?) throws -> AllowedOrigin {
        if let requested {
            do {
                return try AllowedOrigin(parsing: requested)
            } catch {
                throw APIError(.invalidOrigin, "allowed_origin \(error.rule).")
            }
        }
        guard let websiteURL else {
            throw APIError(
                .missingOrigin,
                "Send allowed_origin, or set the app's website_url: the Connect UI needs an exact origin to deliver results to.")
        }
        do {
            return try AllowedOrigin(parsing: websiteURL)
        } catch {
            throw APIError(.missingOrigin, "The app's website_url is not a valid origin (\(error.rule)); send allowed_origin.")
        }
    }
}
