import Foundation

/// What a Connect session asks of the grants it makes (protocol §4.1): `grant_policy`'s
/// lifetime (`default_ttl_seconds`, else `max_ttl_seconds`, counted from when the person
/// connected) and `requested_grant.restrictions` (methods and endpoint patterns). Checked in
/// full when the session is minted (a bad value is refused and nothing is stored), kept on the
/// session as JSON, copied onto each grant it makes (`GrantWriter`, in the grant's own row and
/// transaction) and enforced on every use by `PolicyCheck`, with the same condition code as
/// the `grant_lifetime` and `allowed_requests` rules.
struct GrantTerms: Codable, Sendable, Equatable {
    struct Lifetime: Codable, Sendable, Equatable {
        var maxTTLSeconds: Int?
        var defaultTTLSeconds: Int?

        /// How long after connecting the grant may be used.
        var seconds: Int? { defaultTTLSeconds ?? maxTTLSeconds }

        enum CodingKeys: String, CodingKey {
            case maxTTLSeconds = "max_ttl_seconds"
            case defaultTTLSeconds = "default_ttl_seconds"
        }
    }

    struct Restrictions: Codable, Sendable, Equatable {
        var allowedMethods: [String]?
        var allowedEndpoints: [String]?

        /// The one reading of the lists (`AllowedRequests`), also used by the check.
        func allowed() throws(AllowedRequests.Invalid) -> AllowedRequests {
            try AllowedRequests(methods: allowedMethods, endpoints: allowedEndpoints)
        }

        enum CodingKeys: String, CodingKey {
            case allowedMethods = "allowed_methods"
            case allowedEndpoints = "allowed_endpoints"
        }
    }

    var lifetime: Lifetime?
    var restrictions: Restrictions?

    /// Ten years, as a `grant_lifetime` rule allows: longer is a typo, not a policy.
    static let longestTTL = 10 * 365 * 86400
    static let longestLabel = 255

    /// The session's fields as sent, or nil when neither restricts anything.
    /// - Throws: `invalid_grant_policy` / `invalid_requested_grant` (422) naming the field.
    init?(grantPolicy: LooseJSON?, requestedGrant: LooseJSON?) throws(APIError) {
        lifetime = try Self.lifetime(grantPolicy)
        restrictions = try Self.restrictions(requestedGrant)
        if lifetime == nil && restrictions == nil { return nil }
    }

    init(lifetime: Lifetime?, restrictions: Restrictions?) {
        self.lifetime = lifetime
        self.restrictions = restrictions
    }

    /// A re-authorization by a later session: what that session sets replaces the grant's terms
    /// of the same kind, and what it leaves out stays (a `repair_grant_id` session, which cannot
    /// carry `requested_grant`, keeps the grant's restrictions).
    func overridden(by later: GrantTerms?) -> GrantTerms {
        GrantTerms(lifetime: later?.lifetime ?? lifetime, restrictions: later?.restrictions ?? restrictions)
    }

    var json: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self) }

    static func read(_ json: String) throws -> GrantTerms { try JSONDecoder().decode(GrantTerms.self, from: Data(json.utf8)) }

    private static func lifetime(_ raw: LooseJSON?) throws(APIError) -> Lifetime? {
        func refuse(_ why: String) -> APIError { APIError(.invalidGrantPolicy, "grant_policy" + why) }
        guard let raw, raw != .null else { return nil }
        guard case .object(let fields) = raw else { throw refuse(" must be an object with max_ttl_seconds and/or default_ttl_seconds.") }
        if let unknown = fields.keys.sorted().first(where: { !["max_ttl_seconds", "default_ttl_seconds"].contains($0) }) {
            throw refuse(".\(unknown.prefix(60)) is not a field of a Connect session's grant_policy (max_ttl_seconds, default_ttl_seconds).")
        }
        func seconds(_ name: String) throws(APIError) -> Int? {
            switch fields[name] {
            case nil, .null: return nil
            case .int(let value) where (1...longestTTL).contains(value): return value
            default: throw refuse(".\(name) must be a whole number of seconds, 1 to \(longestTTL).")
            }
        }
        let lifetime = Lifetime(maxTTLSeconds: try seconds("max_ttl_seconds"), defaultTTLSeconds: try seconds("default_ttl_seconds"))
        if let max = lifetime.maxTTLSeconds, let chosen = lifetime.defaultTTLSeconds, chosen > max {
            throw refuse(".default_ttl_seconds may not exceed max_ttl_seconds.")
        }
        return lifetime.seconds == nil ? nil : lifetime
    }

    private static func restrictions(_ raw: LooseJSON?) throws(APIError) -> Restrictions? {
        func refuse(_ why: String) -> APIError { APIError(.invalidRequestedGrant, "requested_grant" + why) }
        guard let raw, raw != .null else { return nil }
        guard case .object(let fields) = raw else { throw refuse(" must be an object with a label and optional restrictions.") }
        if let unknown = fields.keys.sorted().first(where: { !["label", "restrictions"].contains($0) }) {
            throw refuse(".\(unknown.prefix(60)) is not a field of requested_grant (label, restrictions).")
        }
        guard case .string(let label) = fields["label"], (1...longestLabel).contains(label.count) else {
            throw refuse(".label must be a string of 1 to \(longestLabel) characters.")
        }
        guard let restrictions = fields["restrictions"], restrictions != .null else { return nil }
        guard case .object(let lists) = restrictions else { throw refuse(".restrictions must be an object.") }
        if let unknown = lists.keys.sorted().first(where: { !["allowed_methods", "allowed_endpoints"].contains($0) }) {
            throw refuse(".restrictions.\(unknown.prefix(60)) is not a restriction (allowed_methods, allowed_endpoints).")
        }
        func strings(_ name: String) throws(APIError) -> [String]? {
            switch lists[name] {
            case nil, .null: return nil
            case .strings(let values): return values
            default: throw refuse(".restrictions.\(name) must be a list of strings.")
            }
        }
        let read = Restrictions(allowedMethods: try strings("allowed_methods"), allowedEndpoints: try strings("allowed_endpoints"))
        // Neither list: nothing to restrict (the SDK treats an empty restrictions object as none).
        if read.allowedMethods == nil && read.allowedEndpoints == nil { return nil }
        switch Result(catching: { () throws(AllowedRequests.Invalid) in try read.allowed() }) {
        case .success: return read
        case .failure(let invalid):
            throw APIError(.invalidRequestedGrant, invalid.message(in: "requested_grant.restrictions", methods: "allowed_methods", endpoints: "allowed_endpoints"))
        }
    }
}

/// A JSON value read without refusing any shape, so a field's type error is reported with the
/// field's own stable code (`invalid_grant_policy`) rather than a generic decoding failure.
enum LooseJSON: Codable, Sendable, Equatable {
    case null, bool(Bool), int(Int), number(Double), string(String), strings([String]), object([String: LooseJSON]), other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([String].self) { self = .strings(value) }
        else if let value = try? container.decode([String: LooseJSON].self) { self = .object(value) }
        else { self = .other }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null, .other: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .strings(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
