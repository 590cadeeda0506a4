import Foundation

/// A secret grant's optional policy (`grant_policy`): a hard `expires_at`, and the TTL bounds
/// `max_ttl_seconds` / `default_ttl_seconds`. Without `expires_at` the grant lasts the default
/// TTL (else the maximum) from its creation; with both, `expires_at` may not pass the maximum.
struct SecretGrantPolicy: Sendable, Equatable {
    var expiresAt: Date?
    var maxTTLSeconds: Int?
    var defaultTTLSeconds: Int?

    /// Ten years: longer is a typo, not a policy.
    static let longestTTL = 10 * 365 * 24 * 3600

    init(expiresAt raw: String?, maxTTLSeconds: Int?, defaultTTLSeconds: Int?, now: Date) throws(SecretInputError) {
        for (name, ttl) in [("max_ttl_seconds", maxTTLSeconds), ("default_ttl_seconds", defaultTTLSeconds)] {
            if let ttl, !(1...Self.longestTTL).contains(ttl) {
                throw SecretInputError("grant_policy.\(name) must be a whole number of seconds, 1 to \(Self.longestTTL).")
            }
        }
        if let maxTTLSeconds, let defaultTTLSeconds, defaultTTLSeconds > maxTTLSeconds {
            throw SecretInputError("grant_policy.default_ttl_seconds may not exceed max_ttl_seconds.")
        }
        var expiresAt: Date?
        if let raw {
            guard let parsed = Self.date(raw) else { throw SecretInputError("grant_policy.expires_at must be an ISO 8601 time with a zone, e.g. 2030-01-01T00:00:00Z.") }
            guard parsed > now else { throw SecretInputError("grant_policy.expires_at is in the past.") }
            if let maxTTLSeconds, parsed > now.addingTimeInterval(TimeInterval(maxTTLSeconds)) {
                throw SecretInputError("grant_policy.expires_at is later than max_ttl_seconds allows.")
            }
            expiresAt = parsed
        } else if let ttl = defaultTTLSeconds ?? maxTTLSeconds {
            expiresAt = now.addingTimeInterval(TimeInterval(ttl))
        }
        self.expiresAt = expiresAt
        self.maxTTLSeconds = maxTTLSeconds
        self.defaultTTLSeconds = defaultTTLSeconds
    }

    static func date(_ raw: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: raw) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: raw)
    }
}
