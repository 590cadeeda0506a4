import Fluent
import FluentKit
import Foundation
import Vapor

/// The token endpoint (RFC 6749 §3.2) and the revocation endpoint (RFC 7009).
struct SandboxTokenController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let oauth = routes.grouped("oauth").grouped(SandboxOAuthErrorMiddleware())
        oauth.post("token", use: token)
        oauth.post("revoke", use: revoke)
    }

    /// `POST /sandbox/oauth/token`: `authorization_code` and `refresh_token` grants.
    func token(request: Request) async throws -> Response {
        let control = try await SandboxControl.current(on: request.db)
        if control.slowMS > 0 { try await Task.sleep(for: .milliseconds(control.slowMS)) }
        try await SandboxControl.increment(.tokenRequests, on: request.db)
        if let simulated = control.tokenError { throw SandboxOAuthError.simulated(simulated) }

        let form = try SandboxForm.body(of: request)
        if let name = form.repeatedNames.first { throw SandboxOAuthError.invalidRequest("\(name) was sent more than once.") }
        let client = try await SandboxClientAuthentication.authenticate(request, form: form)
        let tokens: SandboxIssuedTokens
        var idToken: String?
        switch form["grant_type"] {
        case "authorization_code":
            let code: SandboxAuthorizationCode
            (tokens, code) = try await exchangeCode(form, client: client, control: control, request: request)
            if tokens.scope.split(separator: " ").contains("openid"), let account = SandboxAccount.find(email: code.account) {
                let secret = try SandboxClientAuthentication.credentials(authorization: request.headers.first(name: .authorization), form: form).secret
                idToken = SandboxIDToken.make(
                    issuer: SandboxProviders.issuer(publicURL: request.application.alterConfiguration.publicURL), account: account,
                    clientID: client.clientID, clientSecret: secret, nonce: code.nonce, now: request.application.clock.now())
            }
        case "refresh_token":
            try await SandboxControl.increment(.refreshCount, on: request.db)
            tokens = try await refresh(form, client: client, control: control, request: request)
        case nil:
            throw SandboxOAuthError.invalidRequest("grant_type is required.")
        case let other?:
            throw SandboxOAuthError.unsupportedGrantType("grant_type \(other) is not supported.")
        }
        let response = Response(status: .ok)
        response.headers.cacheControl = .init(noStore: true)
        response.headers.replaceOrAdd(name: .pragma, value: "no-cache")
        try response.content.encode(
            TokenResponse(
                accessToken: tokens.accessToken, tokenType: "Bearer", expiresIn: tokens.expiresIn, refreshToken: tokens.refreshToken,
                scope: tokens.scope, idToken: idToken),
            as: .json)
        return response
    }

    /// RFC 6749 §4.1.3 with RFC 7636 §4.6.
    private func exchangeCode(
        _ form: SandboxForm, client: SandboxClient, control: SandboxControl, request: Request
    ) async throws -> (SandboxIssuedTokens, SandboxAuthorizationCode) {
        guard let presented = form["code"] else { throw SandboxOAuthError.invalidRequest("code is required.") }
        guard let redirectURI = form["redirect_uri"] else { throw SandboxOAuthError.invalidRequest("redirect_uri is required.") }
        guard let verifier = form["code_verifier"] else { throw SandboxOAuthError.invalidRequest("code_verifier is required (PKCE).") }
        let now = request.application.clock.now()
        guard SecretToken.isWellFormed(presented, prefix: SandboxAuthorizationCode.prefix),
            let code = try await SandboxAuthorizationCode.query(on: request.db).filter(\.$codeHash == SecretToken.hash(presented)).first(),
            code.clientID == client.clientID
        else {
            throw SandboxOAuthError.invalidGrant("The authorization code is not valid for this client.")
        }
        guard try await code.redeem(at: now, on: request.db) else {
            // RFC 6749 §4.1.2: a second use suggests the code leaked; revoke what it bought.
            try await SandboxToken.revokeGrant(try code.requireID(), at: now, on: request.db)
            throw SandboxOAuthError.invalidGrant("The authorization code was already used.")
        }
        guard code.expiresAt > now else { throw SandboxOAuthError.invalidGrant("The authorization code has expired.") }
        guard code.redirectURI == redirectURI else {
            throw SandboxOAuthError.invalidGrant("redirect_uri differs from the authorization request.")
        }
        guard SandboxPKCE.verifies(verifier, challenge: code.codeChallenge) else {
            throw SandboxOAuthError.invalidGrant("code_verifier does not match the code_challenge.")
        }
        let tokens = try await SandboxIssuedTokens.issue(
            grantID: try code.requireID(), clientID: client.clientID, provider: code.provider, account: code.account,
            scope: code.scope, accessTTL: control.accessTokenTTL, now: now, on: request.db)
        return (tokens, code)
    }

    /// RFC 6749 §6, with rotation (RFC 9700 §4.14.2): the used refresh token is revoked.
    private func refresh(_ form: SandboxForm, client: SandboxClient, control: SandboxControl, request: Request) async throws -> SandboxIssuedTokens {
        guard let presented = form["refresh_token"] else { throw SandboxOAuthError.invalidRequest("refresh_token is required.") }
        if control.revokeRefresh {
            throw SandboxOAuthError.invalidGrant("The refresh token has been revoked (sandbox control switch).")
        }
        let now = request.application.clock.now()
        guard let stored = try await SandboxToken.find(presented, kind: .refresh, on: request.db),
            stored.clientID == client.clientID, stored.isLive(at: now)
        else {
            throw SandboxOAuthError.invalidGrant("The refresh token is invalid, expired or revoked.")
        }
        // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
        var scope = stored.scope
        if let requested = form["scope"] {
            let granted = Set(stored.scope.split(separator: " ").map(String.init))
            guard let scopes = SandboxAuthorizationRequest.parseScope(requested), Set(scopes).isSubset(of: granted) else {
                throw SandboxOAuthError.invalidScope("The requested scope exceeds the scope originally granted.")
            }
            scope = scopes.joined(separator: " ")
        }
        guard try await stored.revokeIfLive(at: now, on: request.db) else {
            throw SandboxOAuthError.invalidGrant("The refresh token was already used.")
        }
        return try await SandboxIssuedTokens.issue(
            grantID: stored.grantID, clientID: client.clientID, provider: stored.provider, account: stored.account,
            scope: scope, accessTTL: control.accessTokenTTL, now: now, on: request.db)
    }

    /// `POST /sandbox/oauth/revoke` (RFC 7009 §2.1).
    func revoke(request: Request) async throws -> Response {
        let form = try SandboxForm.body(of: request)
        if let name = form.repeatedNames.first { throw SandboxOAuthError.invalidRequest("\(name) was sent more than once.") }
        let client = try await SandboxClientAuthentication.authenticate(request, form: form)
        guard let presented = form["token"] else { throw SandboxOAuthError.invalidRequest("token is required.") }
        let now = request.application.clock.now()
        // The hint only orders the lookups (RFC 7009 §2.1); both kinds are tried.
        let order: [SandboxToken.Kind] = form["token_type_hint"] == "refresh_token" ? [.refresh, .access] : [.access, .refresh]
        for kind in order {
            // A token of another client is treated as unknown, so no client can probe for others' tokens.
            guard let token = try await SandboxToken.find(presented, kind: kind, on: request.db), token.clientID == client.clientID else { continue }
            if kind == .refresh {
                // RFC 7009 §2.1: revoking a refresh token also ends the access tokens of its grant.
                try await SandboxToken.revokeGrant(token.grantID, at: now, on: request.db)
            } else {
                _ = try await token.revokeIfLive(at: now, on: request.db)
            }
        }
        // RFC 7009 §2.2: 200 whether or not the token was known.
        let response = Response(status: .ok)
        response.headers.cacheControl = .init(noStore: true)
        return response
    }

    private struct TokenResponse: Encodable {
        let accessToken: String
        let tokenType: String
        let expiresIn: Int
        let refreshToken: String
        let scope: String
        let idToken: String?

        enum CodingKeys: String, CodingKey {
            case idToken = "id_token"
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case refreshToken = "refresh_token"
            case scope
        }
    }
}
