import Foundation

/// A catalog entry that breaks a rule. The server refuses to start on one, naming both.
struct CatalogViolation: Error, CustomStringConvertible, Equatable {
    let provider: String
    let rule: String
    var description: String { "provider catalog: '\(provider)': \(rule)" }
}

/// The rules every provider entry (shipped or custom) must follow before the server uses it.
/// Pure: each rule has a row in the tests' table.
enum CatalogRules {
    static let scopeSeparators: Set<String> = [" ", ","]
    static let maxIDLength = 64
    static let maxLogoBytes = 8 * 1024
    /// The OAuth client sets these itself; a catalog entry may not override them.
    static let reservedAuthorizationParams: Set<String> = [
        "response_type", "client_id", "redirect_uri", "state", "scope", "user_scope", "code_challenge", "code_challenge_method", "nonce",
    ]
    /// Headers the identity call sets itself or that must never be configured.
    static let reservedHeaders: Set<String> = ["authorization", "host", "cookie", "content-length", "content-type", "transfer-encoding", "connection"]

    static func check(_ provider: CatalogProvider) throws(CatalogViolation) {
        func fail(_ rule: String) -> CatalogViolation {
            CatalogViolation(provider: provider.id.isEmpty ? "(no id)" : provider.id, rule: rule)
        }
        guard isValidID(provider.id) else { throw fail("id must be 1–\(maxIDLength) characters of a-z, 0-9 and '-'") }
        guard !provider.name.trimmingCharacters(in: .whitespaces).isEmpty, provider.name.count <= 80, !hasControlCharacters(provider.name) else {
            throw fail("name must be 1–80 printable characters")
        }
        guard provider.description.count <= 300, !hasControlCharacters(provider.description) else { throw fail("description must be at most 300 printable characters") }
        guard !provider.category.isEmpty, provider.category.allSatisfy({ ($0.isLowercase && $0.isASCII) || $0 == "-" }) else {
            throw fail("category must be lower-case letters and '-'")
        }
        if let logo = provider.logoSVG, let problem = logoProblem(logo) { throw fail("logo_svg \(problem)") }

        // Variables: a known source, an anchored pattern that compiles, and used somewhere.
        for (name, variable) in provider.variables.sorted(by: { $0.key < $1.key }) {
            guard isValidVariableName(name) else { throw fail("variable name '\(name)' must be letters, digits and '_'") }
            if let source = variable.source, CatalogProvider.VariableSource(rawValue: source) == nil {
                throw fail("variable '\(name)' has unknown source '\(source)' (known: token_response, userinfo, or none for the app's config)")
            }
            guard let pattern = variable.pattern else { throw fail("variable '\(name)' needs a pattern") }
            guard (try? NSRegularExpression(pattern: pattern)) != nil else { throw fail("variable '\(name)' pattern does not compile") }
            guard isAnchored(pattern) else { throw fail("variable '\(name)' pattern must be anchored: ^…$ with no top-level '|'") }
            if let field = variable.field, field.isEmpty || variable.source == nil { throw fail("variable '\(name)' has a field but no source") }
            if variable.source == CatalogProvider.VariableSource.userinfo.rawValue, provider.userinfo == nil {
                throw fail("variable '\(name)' comes from userinfo, but the entry has no userinfo")
            }
        }
        let used = Set(provider.urlTemplates.flatMap { ProviderURLTemplate.placeholders(in: $0).map(\.name) })
        if let unused = provider.variables.keys.sorted().first(where: { !used.contains($0) }) {
            throw fail("variable '\(unused)' is declared but no URL or API host uses it")
        }

        // URLs: https (unless a loopback test provider), placeholders only where they can be filled.
        let urls: [(field: String, template: String?, when: Stage)] = [
            ("authorization_url", provider.authorizationURL, .authorization), ("token_url", provider.tokenURL, .authorization),
            ("userinfo.url", provider.userinfo?.url, .afterToken), ("revocation_url", provider.revocationURL, .afterUserinfo),
        ]
        for (field, template, stage) in urls {
            guard let template else { continue }
            if let problem = urlProblem(template, provider: provider, stage: stage) { throw fail("\(field) \(problem)") }
        }
        for (field, value) in [("docs_url", provider.docsURL), ("issuer", provider.issuer)] {
            guard let value else { continue }
            if !ProviderURLTemplate.placeholders(in: value).isEmpty || !isAbsoluteURL(value, allowsHTTP: provider.allowsPrivateNetwork, allowsFragment: field == "docs_url") {
                throw fail("\(field) must be an absolute https URL without placeholders")
            }
        }
        if provider.sendsIssuerParameter == true && provider.issuer == nil {
            throw fail("authorization_response_iss_parameter_supported needs the issuer it sends")
        }

        // API hosts: scheme + host only; a per-customer part is a declared, validated variable.
        guard !provider.apiHosts.isEmpty else { throw fail("api_hosts must list at least one origin") }
        guard Set(provider.apiHosts).count == provider.apiHosts.count else { throw fail("api_hosts lists an origin twice") }
        for host in provider.apiHosts {
            if let problem = apiHostProblem(host, provider: provider) { throw fail("api_hosts entry '\(host)' \(problem)") }
        }

        // Scopes and authorization parameters.
        guard scopeSeparators.contains(provider.scopeSeparator) else { throw fail("scope_separator must be \" \" or \",\"") }
        for scope in provider.defaultScopes where scope.isEmpty || scope.contains(where: { $0 == " " || $0 == "," || $0.isNewline }) {
            throw fail("default scope '\(scope)' is empty or contains a separator")
        }
        guard Set(provider.defaultScopes).count == provider.defaultScopes.count else { throw fail("default_scopes lists a scope twice") }
        if let reserved = provider.authorizationParams.keys.sorted().first(where: { reservedAuthorizationParams.contains($0) }) {
            throw fail("authorization_params may not set '\(reserved)': the OAuth client sets it")
        }

        // Userinfo.
        if let userinfo = provider.userinfo {
            if let problem = userinfoProblem(userinfo) { throw fail("userinfo \(problem)") }
        }

        if let apiAuth = provider.apiAuth {
            guard isHeaderName(apiAuth.header), !hasControlCharacters(apiAuth.prefix), apiAuth.prefix.count <= 32 else {
                throw fail("api_auth needs a header name and a short prefix without control characters")
            }
        }

        // Quirks: known names, and each one's fields present.
        for quirk in provider.quirks where ProviderQuirk(rawValue: quirk) == nil {
            throw fail("unknown quirk '\(quirk)' (the code knows: \(ProviderQuirk.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard Set(provider.quirks).count == provider.quirks.count else { throw fail("quirks lists a quirk twice") }
        if let problem = quirkProblem(provider) { throw fail(problem) }
    }

    // MARK: - Rules

    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= maxIDLength && !id.hasPrefix("-") && !id.hasSuffix("-")
            && id.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }

    static func isValidVariableName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// `^…$`, where the `$` is not escaped and no top-level `|` lets one branch escape an anchor
    /// (`^a|b$` matches "xb").
    static func isAnchored(_ pattern: String) -> Bool {
        guard pattern.hasPrefix("^"), pattern.hasSuffix("$"), pattern.count >= 2 else { return false }
        let trailingBackslashes = pattern.dropLast().reversed().prefix(while: { $0 == "\\" }).count
        guard trailingBackslashes % 2 == 0 else { return false }
        var depth = 0
        var inClass = false
        var escaped = false
        for character in pattern {
            if escaped { escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "[" where !inClass: inClass = true
            case "]" where inClass: inClass = false
            case "(" where !inClass: depth += 1
            case ")" where !inClass: depth -= 1
            case "|" where !inClass && depth == 0: return false
            default: break
            }
        }
        return depth == 0
    }

    /// When a URL is called, which decides which variables can be known by then.
    enum Stage: Int, Comparable {
        /// Authorization and token URLs: only the app's config is known.
        case authorization
        /// The identity call: config and token-response values are known.
        case afterToken
        /// Revocation and API calls: everything, userinfo values included.
        case afterUserinfo

        static func < (lhs: Stage, rhs: Stage) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    static func urlProblem(_ template: String, provider: CatalogProvider, stage: Stage) -> String? {
        var sample = ""
        var rest = template[...]
        for placeholder in ProviderURLTemplate.placeholders(in: template) {
            guard let variable = provider.variables[placeholder.name] else { return "uses {\(placeholder.name)}, which `variables` does not declare" }
            if let problem = placementProblem(placeholder, variable: variable, stage: stage) { return problem }
            guard let open = rest.range(of: "{\(placeholder.name)}") else { return "has a malformed placeholder" }
            sample += rest[..<open.lowerBound] + (placeholder.position == .origin ? "https://origin.example" : "x")
            rest = rest[open.upperBound...]
        }
        sample += rest
        if sample.contains("{") || sample.contains("}") { return "has a malformed placeholder" }
        return isAbsoluteURL(sample, allowsHTTP: provider.allowsPrivateNetwork) ? nil : "must be an absolute https URL with a host, no user info and no fragment"
    }

    static func placementProblem(_ placeholder: ProviderURLTemplate.Placeholder, variable: CatalogProvider.Variable, stage: Stage) -> String? {
        let source = variable.source.flatMap(CatalogProvider.VariableSource.init(rawValue:))
        switch placeholder.position {
        case .query:
            return "has {\(placeholder.name)} in its query: variables belong in the host or path"
        case .origin:
            guard source != nil else { return "uses {\(placeholder.name)} as a whole origin, which only a token_response or userinfo value may be" }
            guard variable.pattern?.hasPrefix("^https://") == true else { return "uses {\(placeholder.name)} as an origin, so its pattern must start with ^https://" }
        case .host, .path:
            break
        }
        switch source {
        case .tokenResponse? where stage < .afterToken:
            return "uses {\(placeholder.name)}, which is only known after the token response"
        case .userinfo? where stage < .afterUserinfo:
            return "uses {\(placeholder.name)}, which is only known after the userinfo call"
        default:
            return nil
        }
    }

    static func isAbsoluteURL(_ value: String, allowsHTTP: Bool, allowsFragment: Bool = false) -> Bool {
        guard let components = URLComponents(string: value), let scheme = components.scheme,
            scheme == "https" || (allowsHTTP && scheme == "http"),
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil,
            allowsFragment || components.fragment == nil
        else { return false }
        return true
    }

    static func apiHostProblem(_ host: String, provider: CatalogProvider) -> String? {
        let placeholders = ProviderURLTemplate.placeholders(in: host)
        if let first = placeholders.first, first.position == .origin {
            guard host == "{\(first.name)}" else { return "must be exactly {\(first.name)} when a variable is the whole origin" }
            guard let variable = provider.variables[first.name] else { return "uses {\(first.name)}, which `variables` does not declare" }
            return placementProblem(first, variable: variable, stage: .afterUserinfo)
        }
        for placeholder in placeholders {
            guard provider.variables[placeholder.name] != nil else { return "uses {\(placeholder.name)}, which `variables` does not declare" }
            guard placeholder.position == .host else { return "may have variables only in the host" }
        }
        var sample = host
        for placeholder in placeholders { sample = sample.replacingOccurrences(of: "{\(placeholder.name)}", with: "x") }
        return ProviderURLTemplate.isOrigin(sample, allowsHTTP: provider.allowsPrivateNetwork)
            ? nil : "must be scheme + host only (https, lower case, no path, no trailing slash)"
    }

    static func userinfoProblem(_ userinfo: CatalogProvider.UserInfo) -> String? {
        guard ["GET", "POST"].contains(userinfo.method) else { return "method must be GET or POST" }
        guard !userinfo.accountIdentifier.isEmpty else { return "account_identifier must name a field" }
        if let body = userinfo.body {
            guard userinfo.method == "POST" else { return "body needs method POST" }
            guard (try? JSONSerialization.jsonObject(with: Data(body.utf8))) is [String: Any] else { return "body must be a JSON object" }
        }
        for (name, value) in userinfo.headers ?? [:] {
            guard isHeaderName(name), !reservedHeaders.contains(name.lowercased()) else { return "header '\(name)' is not allowed" }
            guard !value.isEmpty, value.count <= 200, !value.contains(where: { $0.isNewline || $0 == "\0" }) else { return "header '\(name)' has an invalid value" }
        }
        if let header = userinfo.tokenHeader, !isHeaderName(header) || ["host", "cookie", "content-length", "content-type"].contains(header.lowercased()) {
            return "token_header '\(header)' is not allowed"
        }
        if let prefix = userinfo.tokenPrefix, prefix.count > 20 || prefix.contains(where: { $0.isNewline }) { return "token_prefix is not allowed" }
        return nil
    }

    static func quirkProblem(_ provider: CatalogProvider) -> String? {
        let quirks = Set(provider.quirks.compactMap(ProviderQuirk.init(rawValue:)))
        let tokenVariables = provider.variables(from: .tokenResponse)
        for quirk in quirks.sorted(by: { $0.rawValue < $1.rawValue }) {
            switch quirk {
            case .tenantInURL:
                guard provider.configVariables["tenant"] != nil, provider.authorizationURL.contains("{tenant}"), provider.tokenURL.contains("{tenant}") else {
                    return "quirk tenant_in_url needs a config variable 'tenant' in authorization_url and token_url"
                }
            case .shopInURL:
                guard provider.configVariables["shop"] != nil, provider.authorizationURL.contains("{shop}") else {
                    return "quirk shop_in_url needs a config variable 'shop' in authorization_url"
                }
            case .instanceURLFromToken:
                guard !tokenVariables.isEmpty else { return "quirk instance_url_from_token needs a variable with source token_response" }
            case .basicAuthJSONBody:
                guard provider.clientAuth == .basic, provider.tokenRequestFormat == .json else {
                    return "quirk basic_auth_json_body needs client_auth client_secret_basic and token_request_format json"
                }
            case .noScopeParam:
                guard provider.defaultScopes.isEmpty else { return "quirk no_scope_param needs empty default_scopes" }
            case .audienceParam:
                guard provider.authorizationParams["audience"] != nil else { return "quirk audience_param needs authorization_params.audience" }
            case .userinfoPost:
                guard provider.userinfo?.method == "POST" else { return "quirk userinfo_post needs userinfo.method POST" }
            case .userinfoGraphQL:
                guard provider.userinfo?.method == "POST", provider.userinfo?.body != nil else { return "quirk userinfo_graphql needs userinfo.method POST and a body" }
            case .refreshTokenRotates:
                guard provider.refresh else { return "quirk refresh_token_rotates needs refresh: true" }
            case .userScopeParam:
                guard !provider.has(.noScopeParam) else { return "quirks user_scope_param and no_scope_param contradict each other" }
            case .tokenTypeOmitted:
                guard !provider.has(.tokenTypeBotUser) else { return "quirks token_type_omitted and token_type_bot_user contradict each other" }
            case .tokenResponseAuthedUser, .acceptJSONHeader, .nonExpiringTokens, .scopesInTokenResponseComma, .workspaceToken, .tokenTypeBotUser:
                break
            }
        }
        return nil
    }

    /// Logos are inlined into the hosted pages: plain SVG only, nothing that runs or loads.
    static func logoProblem(_ svg: String) -> String? {
        let trimmed = svg.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard svg.utf8.count <= maxLogoBytes else { return "is larger than \(maxLogoBytes) bytes" }
        guard trimmed.hasPrefix("<svg"), trimmed.hasSuffix("</svg>") else { return "must be a single <svg> element" }
        for banned in ["<script", "javascript:", "<foreignobject", "<iframe", "<image", "<use", "href=", "url(", "@import", "<!entity", "<!doctype"] where trimmed.contains(banned) {
            return "may not contain \(banned)"
        }
        if trimmed.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) != nil { return "may not contain event handler attributes" }
        return nil
    }

    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
