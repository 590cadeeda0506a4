import Foundation

/// Which calls a credential may make: only these methods (nil: any) to URLs matching one of
/// these patterns (nil: any). The one reading and the one test of that restriction, whether it
/// comes from an `allowed_requests` policy rule or from a Connect session's
/// `requested_grant.restrictions` (`GrantTerms`); `PolicyCheck` enforces both.
struct AllowedRequests: Sendable, Equatable {
    let methods: Set<String>?
    let endpoints: [EndpointPattern]?

    /// Why a list does not read; the caller names the field in its own words.
    enum Invalid: Error, Equatable {
        case nothingListed
        case methods
        case endpointCount
        case endpoint(String)

        /// What is wrong, in the caller's field names: `owner.methods` / `owner.endpoints` for a
        /// rule's settings, `requested_grant.restrictions.allowed_methods` … for a session.
        func message(in owner: String, methods: String, endpoints: String) -> String {
            switch self {
            case .nothingListed: "\(owner) needs \(methods), \(endpoints) or both."
            case .methods: "\(owner).\(methods) must list some of \(ProxyMethods.all.sorted().joined(separator: ", "))."
            case .endpointCount: "\(owner).\(endpoints) must list 1 to \(AllowedRequests.maxEndpoints) URL patterns."
            case .endpoint(let entry): "\(owner).\(endpoints): \(entry) is not an http(s) URL pattern (a * matches any characters)."
            }
        }
    }

    static let maxEndpoints = 100

    init(methods: [String]?, endpoints: [String]?) throws(Invalid) {
        guard methods != nil || endpoints != nil else { throw .nothingListed }
        let upper = methods?.map { $0.uppercased() }
        if let upper, upper.isEmpty || !upper.allSatisfy(ProxyMethods.all.contains) { throw .methods }
        self.methods = upper.map(Set.init)
        self.endpoints = try endpoints.map { list throws(Invalid) in
            guard !list.isEmpty, list.count <= Self.maxEndpoints else { throw .endpointCount }
            return try list.map { entry throws(Invalid) in
                guard let pattern = EndpointPattern(entry) else { throw .endpoint(String(entry.prefix(80))) }
                return pattern
            }
        }
    }

    init(methods: Set<String>?, endpoints: [EndpointPattern]?) {
        self.methods = methods
        self.endpoints = endpoints
    }

    /// Whether a call of `method` to `url` is allowed; an unnamed method or URL is not, when
    /// the restriction lists methods or endpoints.
    func permits(method: String?, url: String?) -> Bool {
        let method = method?.uppercased()
        let methodAllowed = methods.map { allowed in method.map(allowed.contains) ?? false } ?? true
        let endpointAllowed = endpoints.map { patterns in url.map { url in patterns.contains { $0.matches(url) } } ?? false } ?? true
        return methodAllowed && endpointAllowed
    }
}

/// The methods a proxied call may use (`ProxyRequest.methods` says the same for the proxy).
enum ProxyMethods {
    static let all: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
}
