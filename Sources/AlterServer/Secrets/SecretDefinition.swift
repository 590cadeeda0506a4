import Foundation

/// A new managed secret as the operator describes it (`/v1/secrets`, `alter secrets create`),
/// checked: a known template, the header or parameter the generic ones need, origins to
/// send it to, and a value of the template's shape. Every surface builds one of these and
/// nothing else decides what a valid secret is.
struct SecretDefinition: Sendable {
    /// What a surface collects, unchecked; decoded as is from `POST /v1/secrets`'s body.
    struct Input: Sendable, Decodable {
        var name: String?
        var slug: String?
        var template: String?
        var header: String?
        var format: String?
        var queryParameter: String?
        var allowedHosts: [String]?
        var allowsPrivateNetwork: Bool?
        var value: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, slug, template, header, format, value
            case queryParameter = "query_parameter"
            case allowedHosts = "allowed_hosts"
            case allowsPrivateNetwork = "allow_private_network"
        }
    }

    let name: String
    let slug: String
    let template: SecretTemplate
    let injection: SecretInjection
    let allowedHosts: [String]
    let allowsPrivateNetwork: Bool
    let value: SecretValue

    static let maxHosts = 20

    init(validating input: Input) throws(SecretInputError) {
        let name = (input.name ?? "").trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else { throw SecretInputError("name is required (at most 100 characters).") }
        let slug = input.slug ?? Self.slug(from: name)
        guard Self.isSlug(slug) else { throw SecretInputError("slug must be 1–50 lowercase letters, digits and '-', starting with a letter or digit.") }
        guard let raw = input.template, let template = SecretTemplate.named(raw) else {
            throw SecretInputError("template must be one of \(SecretTemplate.all.map(\.slug).joined(separator: ", ")).")
        }
        var header = template.header
        var format = template.format
        var parameter = template.queryParameter
        if template.isGeneric {
            if template.kind == .header {
                guard let given = input.header else { throw SecretInputError("header is required for the \(template.slug) template.") }
                header = given
                if template.slug == "custom" {
                    guard let given = input.format else { throw SecretInputError("format is required for the custom template (e.g. \"Token {token}\").") }
                    format = given
                }
            }
            if template.kind == .query {
                guard let given = input.queryParameter else { throw SecretInputError("query_parameter is required for the api_key_query template.") }
                parameter = given
            }
        }
        for (field, given, own) in [("header", input.header, header), ("format", input.format, format), ("query_parameter", input.queryParameter, parameter)]
        where given != nil && given != own {
            throw SecretInputError("\(field) is set by the \(template.slug) template; choose the custom or a generic template to set it.")
        }
        if let header { try Self.checkHeader(header) }
        if let format { try Self.checkFormat(format) }
        if let parameter, !Self.isParameterName(parameter) {
            throw SecretInputError("query_parameter must start with a letter and hold only letters, digits, '_' and '-' (at most 100).")
        }
        let injection = SecretInjection(kind: template.kind, header: header, format: format, queryParameter: parameter, extraFields: template.extraFields)
        let allowsPrivateNetwork = input.allowsPrivateNetwork ?? false
        let hosts = input.allowedHosts ?? template.hosts
        guard !hosts.isEmpty else { throw SecretInputError("allowed_hosts is required for the \(template.slug) template: the origins this secret may be sent to.") }
        let allowedHosts = try Self.hosts(hosts, allowsPrivateNetwork: allowsPrivateNetwork)
        guard let raw = input.value else { throw SecretInputError("value is required.") }
        self.value = try SecretValue(parsing: raw, for: injection)
        self.name = name
        self.slug = slug
        self.template = template
        self.injection = injection
        self.allowedHosts = allowedHosts
        self.allowsPrivateNetwork = allowsPrivateNetwork
    }

    /// Allowed hosts are origins: `https://host[:port]`, lower-case, no path; plain http only
    /// for a secret allowed on private networks (a service on the same machine or LAN).
    static func hosts(_ hosts: [String], allowsPrivateNetwork: Bool) throws(SecretInputError) -> [String] {
        guard !hosts.isEmpty, hosts.count <= maxHosts else { throw SecretInputError("allowed_hosts must list 1–\(maxHosts) origins.") }
        for host in hosts where !ProviderURLTemplate.isOrigin(host, allowsHTTP: allowsPrivateNetwork) {
            throw SecretInputError(
                "allowed_hosts: \(host.prefix(100)) is not an origin (lower-case https://host[:port], no path"
                    + (allowsPrivateNetwork ? ")." : "; http needs allow_private_network)."))
        }
        return Array(Set(hosts)).sorted()
    }

    /// The headers the official SDK refuses to set (reference §4.2), and `Authorization`-like
    /// routing headers nobody should.
    static let forbiddenHeaders: Set<String> = [
        "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "upgrade", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "cookie", "set-cookie", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
        "x-real-ip", "x-http-method-override", "x-method-override", "www-authenticate", "strict-transport-security", "content-security-policy",
    ]

    static func checkHeader(_ header: String) throws(SecretInputError) {
        guard (1...60).contains(header.count), let first = header.first, first.isASCII, first.isLetter,
            header.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else { throw SecretInputError("header must start with a letter and hold only letters, digits and '-' (at most 60).") }
        guard !forbiddenHeaders.contains(header.lowercased()), !header.lowercased().hasPrefix("alter-") else {
            throw SecretInputError("header \(header) cannot carry a credential.")
        }
    }

    static func checkFormat(_ format: String) throws(SecretInputError) {
        guard format.count <= 200, format.contains("{token}"),
            !format.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { throw SecretInputError("format must contain {token}, at most 200 characters, no control characters.") }
    }

    static func isParameterName(_ name: String) -> Bool {
        guard (1...100).contains(name.count), let first = name.first, first.isASCII, first.isLetter else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    static func isSlug(_ slug: String) -> Bool {
        guard (1...50).contains(slug.count), let first = slug.first, first != "-" else { return false }
        return slug.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    /// `Stripe (prod)` → `stripe-prod`.
    static func slug(from name: String) -> String {
        let mapped = name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }
        let collapsed = String(mapped).split(separator: "-", omittingEmptySubsequences: true).joined(separator: "-")
        return String(collapsed.prefix(50))
    }
}
