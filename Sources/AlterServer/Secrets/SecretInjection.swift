import Foundation

/// Where one secret's value goes on a call, and the value put there: the one rule both the
/// vault's own calls (`/v1/request`, `/sdk/proxy`) and the SDK's (`/sdk/token`'s injection
/// fields) follow.
struct SecretInjection: Sendable, Equatable {
    let kind: SecretTemplate.Kind
    /// The header carrying the token (nil for `query`).
    let header: String?
    let format: String?
    let queryParameter: String?
    let extraFields: [SecretTemplate.ExtraField]

    /// The official SDK always puts the token in a header; for a query-parameter secret it is
    /// this one, beside the parameter (both go only to the secret's allowed hosts).
    static let sdkHeaderForQuery = "X-Api-Key"

    /// What a call carries: headers and query parameters, values filled in.
    struct Filled: Sendable, Equatable {
        var headers: [(name: String, value: String)]
        var queryItems: [(name: String, value: String)]

        static func == (lhs: Filled, rhs: Filled) -> Bool {
            lhs.headers.map { [$0.name, $0.value] } == rhs.headers.map { [$0.name, $0.value] }
                && lhs.queryItems.map { [$0.name, $0.value] } == rhs.queryItems.map { [$0.name, $0.value] }
        }
    }

    /// The string `{token}` stands for: the token, or base64 of `username:password` (RFC 7617).
    func token(of value: SecretValue) -> String {
        switch kind {
        case .basic: Data("\(value.username ?? ""):\(value.password ?? "")".utf8).base64EncodedString()
        default: value.token ?? ""
        }
    }

    /// Headers and query parameters for a call the vault makes.
    func fill(_ value: SecretValue) -> Filled {
        let token = token(of: value)
        var filled = Filled(headers: [], queryItems: [])
        if kind == .query, let parameter = queryParameter {
            filled.queryItems.append((parameter, token))
        } else if let header, let format {
            filled.headers.append((header, Self.apply(format, token)))
        }
        for extra in extraFields {
            if let field = value.fields[extra.name] { filled.headers.append((extra.header, field)) }
        }
        return filled
    }

    /// `/sdk/token`'s fields: the SDK sets `injection_header: injection_format` and then
    /// applies `additional_injections` (reference §4.2).
    struct ForSDK: Sendable, Equatable {
        struct Rule: Sendable, Equatable, Encodable {
            let target: String
            let key: String
            let valueSource: String

            enum CodingKeys: String, CodingKey {
                case target, key
                case valueSource = "value_source"
            }
        }

        let accessToken: String
        let injectionHeader: String
        let injectionFormat: String
        let additionalInjections: [Rule]
        let additionalCredentials: [String: String]
    }

    func forSDK(_ value: SecretValue) -> ForSDK {
        var rules: [ForSDK.Rule] = []
        var credentials: [String: String] = [:]
        if kind == .query, let parameter = queryParameter {
            rules.append(.init(target: "query_param", key: parameter, valueSource: "token"))
        }
        for extra in extraFields {
            guard let field = value.fields[extra.name] else { continue }
            credentials[extra.name] = field
            rules.append(.init(target: "header", key: extra.header, valueSource: "additional_credentials.\(extra.name)"))
        }
        return ForSDK(
            accessToken: token(of: value), injectionHeader: header ?? Self.sdkHeaderForQuery, injectionFormat: format ?? "{token}",
            additionalInjections: rules, additionalCredentials: credentials)
    }

    /// Every header name this secret sets, lower-cased: a caller's header of the same name is dropped.
    var headerNames: Set<String> {
        var names = Set(extraFields.map { $0.header.lowercased() })
        if let header { names.insert(header.lowercased()) }
        return names
    }

    /// Replaces the first `{token}` only, as the SDK does.
    static func apply(_ format: String, _ token: String) -> String {
        guard let range = format.range(of: "{token}") else { return format }
        return format.replacingCharacters(in: range, with: token)
    }
}
