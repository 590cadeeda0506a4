/// How a kind of managed secret is sent to its API: which header (and format) or query
/// parameter carries it, which extra fields it has, and — for a well-known service — the API
/// hosts it may go to. A secret is made from one template; `custom` lets the operator choose
/// the header and format.
struct SecretTemplate: Sendable, Equatable {
    /// The four ways a credential travels.
    enum Kind: String, Sendable, Codable {
        /// `Authorization: Bearer <token>`.
        case bearer
        /// The token in a named header, in a format (`{token}` by default).
        case header
        /// The token in a named query parameter.
        case query
        /// `Authorization: Basic base64(username:password)`.
        case basic
    }

    /// A second credential of a service (Datadog's application key), sent in its own header.
    struct ExtraField: Sendable, Equatable {
        let name: String
        let header: String
    }

    let slug: String
    let name: String
    let kind: Kind
    /// The header the token goes in (every kind but `query`).
    let header: String?
    /// `{token}` is replaced by the token (for `basic`, by base64 of `username:password`).
    let format: String?
    /// The query parameter the token goes in (`query` only).
    let queryParameter: String?
    /// The API origins a well-known service is called at; empty for the generic templates,
    /// whose secrets name their own.
    let hosts: [String]
    let extraFields: [ExtraField]
    /// The generic templates take the header or parameter name from the secret.
    let isGeneric: Bool

    static func bearer(_ slug: String, _ name: String, hosts: [String]) -> SecretTemplate {
        .init(slug: slug, name: name, kind: .bearer, header: "Authorization", format: "Bearer {token}", queryParameter: nil, hosts: hosts, extraFields: [], isGeneric: false)
    }

    static func header(_ slug: String, _ name: String, header: String, format: String = "{token}", hosts: [String], extra: [ExtraField] = []) -> SecretTemplate {
        .init(slug: slug, name: name, kind: .header, header: header, format: format, queryParameter: nil, hosts: hosts, extraFields: extra, isGeneric: false)
    }

    static func basic(_ slug: String, _ name: String, hosts: [String]) -> SecretTemplate {
        .init(slug: slug, name: name, kind: .basic, header: "Authorization", format: "Basic {token}", queryParameter: nil, hosts: hosts, extraFields: [], isGeneric: false)
    }

    static func query(_ slug: String, _ name: String, parameter: String, hosts: [String]) -> SecretTemplate {
        .init(slug: slug, name: name, kind: .query, header: nil, format: nil, queryParameter: parameter, hosts: hosts, extraFields: [], isGeneric: false)
    }

    /// The generic templates first, then the well-known services (names and hosts from each
    /// service's API reference).
    static let all: [SecretTemplate] = [
        .init(slug: "bearer", name: "Bearer token", kind: .bearer, header: "Authorization", format: "Bearer {token}", queryParameter: nil, hosts: [], extraFields: [], isGeneric: true),
        .init(slug: "api_key_header", name: "API key in a header", kind: .header, header: nil, format: "{token}", queryParameter: nil, hosts: [], extraFields: [], isGeneric: true),
        .init(slug: "api_key_query", name: "API key in a query parameter", kind: .query, header: nil, format: nil, queryParameter: nil, hosts: [], extraFields: [], isGeneric: true),
        .init(slug: "basic", name: "Basic auth", kind: .basic, header: "Authorization", format: "Basic {token}", queryParameter: nil, hosts: [], extraFields: [], isGeneric: true),
        .init(slug: "custom", name: "Custom header and format", kind: .header, header: nil, format: nil, queryParameter: nil, hosts: [], extraFields: [], isGeneric: true),
        .bearer("openai", "OpenAI", hosts: ["https://api.openai.com"]),
        .header("anthropic", "Anthropic", header: "x-api-key", hosts: ["https://api.anthropic.com"]),
        .bearer("stripe", "Stripe", hosts: ["https://api.stripe.com"]),
        .header(
            "datadog", "Datadog", header: "DD-API-KEY",
            hosts: ["https://api.datadoghq.com", "https://api.us3.datadoghq.com", "https://api.us5.datadoghq.com", "https://api.datadoghq.eu", "https://api.ap1.datadoghq.com"],
            extra: [.init(name: "application_key", header: "DD-APPLICATION-KEY")]),
        .bearer("sendgrid", "SendGrid", hosts: ["https://api.sendgrid.com"]),
        // Account SID as the username, auth token as the password.
        .basic("twilio", "Twilio", hosts: ["https://api.twilio.com"]),
        .bearer("github", "GitHub personal access token", hosts: ["https://api.github.com"]),
        // Username `api`, the API key as the password.
        .basic("mailgun", "Mailgun", hosts: ["https://api.mailgun.net", "https://api.eu.mailgun.net"]),
        // Linear takes a personal API key without a scheme.
        .header("linear", "Linear", header: "Authorization", hosts: ["https://api.linear.app"]),
        .header("pagerduty", "PagerDuty", header: "Authorization", format: "Token token={token}", hosts: ["https://api.pagerduty.com"]),
        .query("google-maps", "Google Maps Platform", parameter: "key", hosts: ["https://maps.googleapis.com"]),
    ]

    static func named(_ slug: String) -> SecretTemplate? { all.first { $0.slug == slug } }
}
