import Foundation

/// Turns a token endpoint's body into `ProviderTokens`, applying the catalog's quirks.
/// Pure, so each quirk has a table test.
enum TokenResponseParser {
    static func parse(body: Data, contentType: String?, provider: CatalogProvider, now: Date) throws(ProviderError) -> ProviderTokens {
        var object = try fields(body: body, contentType: contentType)
        // Some providers answer 200 with an error (GitHub), or `ok: false` (Slack).
        if let error = object["error"] as? String {
            throw ProviderError(error: error, errorDescription: object["error_description"] as? String, isTransient: false)
        }
        if let ok = object["ok"] as? Bool, !ok {
            throw ProviderError(error: "provider_error", errorDescription: "the provider answered ok: false", isTransient: false)
        }
        if provider.has(.tokenResponseAuthedUser), let user = object["authed_user"] as? [String: Any], user["access_token"] != nil {
            object = user
        }
        guard let accessToken = object["access_token"] as? String, !accessToken.isEmpty, accessToken.count <= 8192 else {
            throw ProviderError(error: "invalid_token_response", errorDescription: "the token response has no access_token", isTransient: false)
        }
        try checkTokenType(object["token_type"], provider: provider)
        var tokens = ProviderTokens(accessToken: accessToken)
        if let refresh = object["refresh_token"] as? String, !refresh.isEmpty, refresh.count <= 8192 {
            tokens.refreshToken = refresh
        }
        if let seconds = try lifetime(object["expires_in"]) {
            tokens.expiresAt = now.addingTimeInterval(seconds)
        }
        if let idToken = object["id_token"] as? String, !idToken.isEmpty, idToken.count <= 16384 {
            tokens.idToken = idToken
        }
        tokens.scopes = scopes(object["scope"], provider: provider)
        // Values the API host depends on (Salesforce `instance_url`) are checked on every
        // response, refreshes included: a bad one stores nothing (docs/providers.md, Variables).
        for (name, variable) in provider.variables(from: .tokenResponse) {
            guard let value = object[variable.field ?? name] as? String else { continue }
            guard ProviderURLTemplate.accepts(value, for: name, of: provider) else {
                throw ProviderError(error: "invalid_token_response", errorDescription: "the token response's \(name) is not an allowed value", isTransient: false)
            }
            tokens.variables[name] = value
        }
        return tokens
    }

    static func fields(body: Data, contentType: String?) throws(ProviderError) -> [String: Any] {
        if let contentType, contentType.lowercased().contains("application/x-www-form-urlencoded") {
            return FormEncoding.decode(String(decoding: body, as: UTF8.self))
        }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw ProviderError(error: "invalid_token_response", errorDescription: "the token response is not a JSON object", isTransient: false)
        }
        return object
    }

    /// The longest lifetime believed: a token said to live longer is refreshed after ten
    /// years anyway, and the date stays inside every database's timestamp range.
    static let maxLifetime: TimeInterval = 10 * 365 * 24 * 3600

    /// RFC 6749 §7.1: the vault sends every token as a Bearer token (RFC 6750), so a token of
    /// another type (`mac`, `DPoP`, `N_A`) must not be stored. Matched case-insensitively
    /// (GitHub says `bearer`); absent only where the catalog says the provider omits it.
    static func checkTokenType(_ value: Any?, provider: CatalogProvider) throws(ProviderError) {
        guard let value else {
            if provider.has(.tokenTypeOmitted) { return }
            throw ProviderError(error: "invalid_token_response", errorDescription: "the token response has no token_type", isTransient: false)
        }
        let type = (value as? String)?.lowercased()
        let accepted: Set<String> = provider.has(.tokenTypeBotUser) ? ["bearer", "bot", "user"] : ["bearer"]
        guard let type, accepted.contains(type) else {
            throw ProviderError(error: "invalid_token_response", errorDescription: "the token response's token_type is not Bearer", isTransient: false)
        }
    }

    /// `expires_in` in seconds, as a number or a numeric string ("3600"); nil when absent or
    /// 0 (Mailchimp's "never"). Negative or non-finite values are refused; huge ones capped.
    static func lifetime(_ value: Any?) throws(ProviderError) -> TimeInterval? {
        guard let value, !(value is NSNull) else { return nil }
        guard let seconds = number(value), seconds.isFinite, seconds >= 0 else {
            throw ProviderError(error: "invalid_token_response", errorDescription: "the token response's expires_in is not a number of seconds", isTransient: false)
        }
        return seconds == 0 ? nil : min(seconds, maxLifetime)
    }

    static func number(_ value: Any?) -> Double? {
        switch value {
        case let number as NSNumber: number.doubleValue
        case let string as String: Double(string.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    static func scopes(_ value: Any?, provider: CatalogProvider) -> [String]? {
        if let array = value as? [String] { return array }
        guard let string = value as? String else { return nil }
        let separators: Set<Character> = provider.has(.scopesInTokenResponseComma) ? [","] : [" ", ","].contains(provider.scopeSeparator) ? [Character(provider.scopeSeparator), " "] : [" "]
        return string.split(whereSeparator: { separators.contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
