import Foundation

/// A rule's kind with its settings read and checked: the one reading of `PolicyRule.settings`,
/// used both when a rule is created (a bad one is refused and nothing stored) and when it is
/// evaluated (a stored one that no longer reads denies: fail closed).
enum PolicyCondition: Sendable, Equatable {
    /// Calls only on these weekdays, between these hours, in this IANA time zone.
    case timeWindow(TimeWindow)
    /// Calls only from these addresses (`PolicyCheck.callerAddress`).
    case ipAllowlist([AddressRange])
    /// At most `limit` calls a minute per grant or per agent, counted in the database.
    case rateLimit(limit: Int, per: RateSubject)
    /// A grant may be used only this long after it was made.
    case grantLifetime(maxSeconds: Int)
    /// Only these methods to URLs matching these patterns (`AllowedRequests`).
    case allowedRequests(AllowedRequests)
    /// The call waits for a person's approval (proxy only), which lapses after `expiresIn`
    /// seconds, given by one of `approvers`.
    case requiresApproval(expiresIn: Int, approvers: Set<Approvers>)

    enum RateSubject: String, Sendable {
        case grant, agent
    }

    /// Who may decide a held call: signed-in portal operators, or whoever the app hands the
    /// one-time approver link to (`POST /v1/approvals/{id}/approver-link`).
    enum Approvers: String, Sendable, CaseIterable {
        case operators, link
    }

    static let kinds = ["time_window", "ip_allowlist", "rate_limit", "grant_lifetime", "allowed_requests", "requires_approval"]

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    init(kind: String, settings: String) throws(Invalid) {
        guard let object = try? JSONDecoder().decode([String: LooseJSON].self, from: Data(settings.utf8)) else {
            throw Invalid("settings must be a JSON object.")
        }
        let fields = Fields(object, kind: kind)
        switch kind {
        case "time_window":
            try fields.only(["time_zone", "weekdays", "start", "end"])
            self = .timeWindow(try TimeWindow(
                timeZone: try fields.string("time_zone") ?? "UTC", weekdays: try fields.strings("weekdays"),
                start: try fields.string("start") ?? "00:00", end: try fields.string("end") ?? "24:00"))
        case "ip_allowlist":
            try fields.only(["cidrs"])
            guard let ranges = try fields.strings("cidrs"), !ranges.isEmpty, ranges.count <= 100 else {
                throw Invalid("ip_allowlist.cidrs must list 1 to 100 addresses or CIDR ranges.")
            }
            self = .ipAllowlist(try ranges.map { entry throws(Invalid) in
                guard let range = AddressRange(entry) else { throw Invalid("ip_allowlist.cidrs: \(entry.prefix(60)) is not an IPv4/IPv6 address or CIDR range.") }
                return range
            })
        case "rate_limit":
            try fields.only(["limit", "per"])
            guard let limit = try fields.int("limit"), (1...100_000).contains(limit) else {
                throw Invalid("rate_limit.limit must be a whole number of calls a minute, 1 to 100000.")
            }
            guard let per = RateSubject(rawValue: try fields.string("per") ?? "grant") else { throw Invalid("rate_limit.per must be grant or agent.") }
            self = .rateLimit(limit: limit, per: per)
        case "grant_lifetime":
            try fields.only(["max_ttl_seconds"])
            guard let seconds = try fields.int("max_ttl_seconds"), (1...(10 * 365 * 86400)).contains(seconds) else {
                throw Invalid("grant_lifetime.max_ttl_seconds must be a whole number of seconds, 1 to 315360000.")
            }
            self = .grantLifetime(maxSeconds: seconds)
        case "allowed_requests":
            try fields.only(["methods", "endpoints"])
            let methods = try fields.strings("methods"), endpoints = try fields.strings("endpoints")
            switch Result(catching: { () throws(AllowedRequests.Invalid) in try AllowedRequests(methods: methods, endpoints: endpoints) }) {
            case .success(let allowed): self = .allowedRequests(allowed)
            case .failure(let invalid):
                throw Invalid(invalid.message(in: "allowed_requests", methods: "methods", endpoints: "endpoints"))
            }
        case "requires_approval":
            try fields.only(["expires_in_seconds", "approvers"])
            let seconds = try fields.int("expires_in_seconds") ?? 600
            guard (2...86_400).contains(seconds) else { throw Invalid("requires_approval.expires_in_seconds must be 2 to 86400.") }
            let names = try fields.strings("approvers") ?? Approvers.allCases.map(\.rawValue)
            let approvers = Set(names.compactMap(Approvers.init(rawValue:)))
            guard !names.isEmpty, approvers.count == Set(names).count else {
                throw Invalid("requires_approval.approvers lists one or both of operators, link.")
            }
            self = .requiresApproval(expiresIn: seconds, approvers: approvers)
        default:
            throw Invalid("kind must be one of \(Self.kinds.joined(separator: ", ")).")
        }
    }

    /// Strict reading of a settings object: unknown keys and wrong types are refused.
    private struct Fields {
        let object: [String: LooseJSON]
        let kind: String

        init(_ object: [String: LooseJSON], kind: String) {
            self.object = object
            self.kind = kind
        }

        func only(_ names: Set<String>) throws(Invalid) {
            if let unknown = object.keys.sorted().first(where: { !names.contains($0) }) {
                throw Invalid("\(kind).\(unknown.prefix(40)) is not a setting of \(kind) (\(names.sorted().joined(separator: ", "))).")
            }
        }

        func string(_ name: String) throws(Invalid) -> String? {
            switch object[name] {
            case nil, .null: return nil
            case .string(let text): return text
            default: throw Invalid("\(kind).\(name) must be a string.")
            }
        }

        func strings(_ name: String) throws(Invalid) -> [String]? {
            switch object[name] {
            case nil, .null: return nil
            case .strings(let texts): return texts
            default: throw Invalid("\(kind).\(name) must be a list of strings.")
            }
        }

        func int(_ name: String) throws(Invalid) -> Int? {
            switch object[name] {
            case nil, .null: return nil
            case .int(let value): return value
            default: throw Invalid("\(kind).\(name) must be a whole number.")
            }
        }
    }
}
