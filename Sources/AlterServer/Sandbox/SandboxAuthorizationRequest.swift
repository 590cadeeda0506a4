/// An authorization request the sandbox accepts (RFC 6749 §4.1.1 with RFC 7636 §4.3 PKCE),
/// validated from the query of `GET /authorize` or, again, from the consent form's POST.
///
/// Pure: the controller looks the client up and passes it in, so every rule has a table test.
struct SandboxAuthorizationRequest: Sendable, Equatable {
    let client: SandboxClient
    let redirectURI: String
    let state: String?
    let scopes: [String]
    let codeChallenge: String
    /// OpenID Connect: echoed in the ID token, required with the `openid` scope.
    let nonce: String?

    var scope: String { scopes.joined(separator: " ") }

    /// The catalog's default scopes for the sandbox, used when a request names none.
    static let defaultScopes = ["profile", "email"]

    enum Rejection: Error, Equatable {
        /// The client or its redirect URI cannot be trusted: RFC 6749 §4.1.2.1 says show the
        /// user an error and never redirect, or the server becomes an open redirector.
        case page(String)
        /// Tell the client, on its registered redirect URI.
        case redirect(error: String, description: String, redirectURI: String, state: String?)
    }

    init(validating form: SandboxForm, client: SandboxClient?) throws(Rejection) {
        if let name = form.repeated(among: ["client_id", "redirect_uri"]) {
            throw .page("The request sent \(name) more than once.")
        }
        guard form["client_id"] != nil else { throw .page("The request has no client_id.") }
        guard let client, client.clientID == form["client_id"] else {
            throw .page("This client is not registered with the sandbox.")
        }
        guard let redirectURI = form["redirect_uri"] else { throw .page("The request has no redirect_uri.") }
        // RFC 6749 §3.1.2.3 and RFC 9700 §2.1: exact string comparison, no prefix or pattern matching.
        guard client.redirectURIs.contains(redirectURI) else {
            throw .page("The redirect_uri is not registered for this client.")
        }
        let state = form.repeated(among: ["state"]) == nil ? form["state"] : nil
        func reject(_ error: String, _ description: String) -> Rejection {
            .redirect(error: error, description: description, redirectURI: redirectURI, state: state)
        }

        if let name = form.repeatedNames.first {
            throw reject("invalid_request", "The request sent \(name) more than once.")
        }
        guard let responseType = form["response_type"] else { throw reject("invalid_request", "response_type is required.") }
        guard responseType == "code" else {
            throw reject("unsupported_response_type", "Only response_type=code is supported.")
        }
        // RFC 7636 §4.4.1: a server that requires PKCE answers a missing challenge with invalid_request.
        guard let challenge = form["code_challenge"] else {
            throw reject("invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256.")
        }
        guard form["code_challenge_method"] == "S256" else {
            throw reject("invalid_request", "code_challenge_method must be S256.")
        }
        guard SandboxPKCE.isWellFormedS256Challenge(challenge) else {
            throw reject("invalid_request", "code_challenge is not a base64url SHA-256 digest.")
        }
        guard let scopes = Self.parseScope(form["scope"]) else {
            throw reject("invalid_scope", "scope must be space-separated scope tokens.")
        }

        // OIDC Core §3.1.2.1 makes nonce optional in the code flow; the sandbox requires it
        // with `openid`, as some real servers (Glewlwyd) do, so a client that omits it fails here.
        let nonce = form["nonce"]
        if scopes.contains("openid"), nonce == nil {
            throw reject("invalid_request", "nonce is required with the openid scope.")
        }
        if let nonce, nonce.count > 255 || !nonce.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) {
            throw reject("invalid_request", "nonce must be at most 255 printable ASCII characters.")
        }

        self.client = client
        self.nonce = nonce
        self.redirectURI = redirectURI
        self.state = state
        self.scopes = scopes.isEmpty ? Self.defaultScopes : scopes
        self.codeChallenge = challenge
    }

    /// RFC 6749 §3.3: space-delimited tokens of `%x21 / %x23-5B / %x5D-7E`, duplicates
    /// dropped; nil when a token has any other character.
    static func parseScope(_ text: String?) -> [String]? {
        var scopes: [String] = []
        for token in (text ?? "").split(separator: " ").map(String.init) {
            let valid = token.unicodeScalars.allSatisfy { scalar in
                scalar.value == 0x21 || (0x23...0x5B).contains(scalar.value) || (0x5D...0x7E).contains(scalar.value)
            }
            guard valid else { return nil }
            if !scopes.contains(token) { scopes.append(token) }
        }
        return scopes
    }
}
