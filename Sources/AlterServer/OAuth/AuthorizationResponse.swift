import Foundation

/// The parameters a provider sends back to the redirect URI (RFC 6749 §4.1.2 and §4.1.2.1,
/// RFC 9207 `iss`), read from the raw query so that a parameter sent twice is refused
/// instead of silently taking the last value. Pure, so every rule has a table test.
struct AuthorizationResponse: Sendable, Equatable {
    enum Answer: Sendable, Equatable {
        case code(String)
        case error(String, description: String?)
    }

    let state: String
    /// RFC 9207: the issuer that says it sent this response, when it says so.
    let issuer: String?
    let answer: Answer

    struct Violation: Error, Sendable, Equatable, CustomStringConvertible {
        let rule: String
        /// The `state`, when it was sent exactly once: the attempt it names can be ended.
        let state: String?
        var description: String { rule }
    }

    static let maxCodeLength = 2048

    init(query: String?) throws(Violation) {
        var values: [String: [String]] = [:]
        for (name, value) in FormEncoding.pairs(query ?? "") { values[name, default: []].append(value) }
        // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
        func single(_ name: String) -> String? { values[name]?.count == 1 ? values[name]![0].nilIfEmpty : nil }
        let state = single("state")
        func fail(_ rule: String) -> Violation { Violation(rule: rule, state: state) }

        if let repeated = ["state", "code", "iss", "error", "error_description"].first(where: { (values[$0]?.count ?? 0) > 1 }) {
            throw fail("the response sent \(repeated) more than once")
        }
        guard let state else { throw fail("the response has no state") }
        self.state = state
        self.issuer = single("iss")
        switch (single("code"), single("error")) {
        case (_?, _?):
            throw fail("the response has both a code and an error")
        case (let code?, nil):
            guard code.count <= Self.maxCodeLength else { throw fail("the authorization code is longer than \(Self.maxCodeLength) characters") }
            answer = .code(code)
        case (nil, let error?):
            answer = .error(String(error.prefix(100)), description: single("error_description").map { String($0.prefix(500)) })
        case (nil, nil):
            throw fail("the provider sent no authorization code")
        }
    }
}

extension AuthorizationResponse {
    /// RFC 9207 §2.4: what is wrong with the response's `iss`, or nil. A provider known to
    /// send `iss` must send it with a code; a known issuer must match; a provider without a
    /// known issuer must not answer with another provider's (a mix-up).
    ///
    /// An error response without `iss` is let through although RFC 9207 §2 asks for it there
    /// too: django-oauth-toolkit 3.4.1 advertises `iss` yet leaves it off `access_denied`, and
    /// an error response only ends the attempt, it can never hand over a code.
    func issuerProblem(expected: String?, required: Bool, knownIssuers: Set<String>) -> String? {
        guard let issuer else {
            guard required, case .code = answer else { return nil }
            return "the authorization response has no iss, and this provider always sends one"
        }
        if let expected { return issuer == expected ? nil : "the authorization response came from an unexpected issuer" }
        return knownIssuers.contains(issuer) ? "the authorization response came from another provider's issuer" : nil
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
