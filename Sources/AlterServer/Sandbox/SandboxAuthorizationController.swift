import Fluent
import FluentKit
import Foundation
import Vapor

/// The authorization endpoint (RFC 6749 §4.1.1): the consent page and its decision.
struct SandboxAuthorizationController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("oauth", "authorize", use: authorize)
        routes.post("oauth", "decision", use: decide)
    }

    /// `GET /sandbox/oauth/authorize`: the consent page, or an error.
    func authorize(request: Request) async throws -> Response {
        let form = SandboxForm(query: request)
        let context = Context(request)
        let authorization: SandboxAuthorizationRequest
        switch try await validate(form, request: request) {
        case .success(let value): authorization = value
        case .failure(let rejection): return context.respond(to: rejection, status: .found)
        }
        let control = try await SandboxControl.current(on: request.db)
        if let simulated = control.error {
            return SandboxRedirect.error(
                simulated, description: "Simulated \(simulated) from the sandbox control switch.",
                redirectURI: authorization.redirectURI, state: authorization.state, issuer: context.issuer, status: .found)
        }
        let providerName = SandboxProviders.catalogEntries(publicURL: context.publicURL)
            .first { $0.id == authorization.client.provider }?.name ?? authorization.client.provider
        let html = SandboxPages.consent(authorization, providerName: providerName, publicURL: context.publicURL)
        return SandboxPages.response(html, callbackOrigin: context.callbackOrigin, crossOriginIsolated: control.coop)
    }

    /// `POST /sandbox/oauth/decision`: the consent form. Everything is validated again: the
    /// hidden fields came back from the browser and may have been changed on the way.
    func decide(request: Request) async throws -> Response {
        let context = Context(request)
        let form: SandboxForm
        do {
            form = try SandboxForm.body(of: request)
        } catch {
            return context.page("The consent form was not sent as a form.")
        }
        let authorization: SandboxAuthorizationRequest
        switch try await validate(form, request: request) {
        case .success(let value): authorization = value
        case .failure(let rejection): return context.respond(to: rejection, status: .seeOther)
        }
        func redirect(_ parameters: [(String, String?)]) -> Response {
            SandboxRedirect.response(
                to: SandboxRedirect.location(redirectURI: authorization.redirectURI, parameters + [("state", authorization.state), ("iss", context.issuer)]),
                status: .seeOther)
        }
        switch form["decision"] {
        case "deny":
            return redirect([("error", "access_denied"), ("error_description", "The user denied access.")])
        case "allow":
            guard let account = form["account"].flatMap(SandboxAccount.find(email:)) else {
                return redirect([("error", "invalid_request"), ("error_description", "Choose one of the offered accounts.")])
            }
            let code = try await issueCode(for: authorization, account: account, request: request)
            return redirect([("code", code)])
        default:
            return redirect([("error", "invalid_request"), ("error_description", "decision must be allow or deny.")])
        }
    }

    private func validate(_ form: SandboxForm, request: Request) async throws -> Result<SandboxAuthorizationRequest, SandboxAuthorizationRequest.Rejection> {
        let client = try await SandboxClient.find(clientID: form["client_id"], publicURL: request.application.alterConfiguration.publicURL, on: request.db)
        return Result { () throws(SandboxAuthorizationRequest.Rejection) in
            try SandboxAuthorizationRequest(validating: form, client: client)
        }
    }

    /// RFC 6749 §4.1.2 and §10.10: a random, single-use code that expires quickly, stored as its hash.
    private func issueCode(for authorization: SandboxAuthorizationRequest, account: SandboxAccount, request: Request) async throws -> String {
        let now = request.application.clock.now()
        let secret = SecretToken.generate(prefix: SandboxAuthorizationCode.prefix)
        let code = SandboxAuthorizationCode()
        code.codeHash = SecretToken.hash(secret)
        code.clientID = authorization.client.clientID
        code.provider = authorization.client.provider
        code.redirectURI = authorization.redirectURI
        code.codeChallenge = authorization.codeChallenge
        code.account = account.email
        code.scope = authorization.scope
        code.nonce = authorization.nonce
        code.expiresAt = now.addingTimeInterval(SandboxAuthorizationCode.lifetime)
        code.createdAt = now
        try await code.create(on: request.db)
        return secret
    }

    /// What every answer of this endpoint needs from the configuration.
    private struct Context {
        let publicURL: String
        let issuer: String
        let callbackOrigin: String

        init(_ request: Request) {
            publicURL = request.application.alterConfiguration.publicURL
            issuer = SandboxProviders.issuer(publicURL: publicURL)
            callbackOrigin = SandboxPages.origin(of: ProviderConfig.redirectURI(publicURL: publicURL, provider: "sandbox", legacy: true))
        }

        func page(_ message: String) -> Response {
            SandboxPages.response(SandboxPages.error(message), status: .badRequest, callbackOrigin: callbackOrigin)
        }

        func respond(to rejection: SandboxAuthorizationRequest.Rejection, status: HTTPResponseStatus) -> Response {
            switch rejection {
            case .page(let message):
                return page(message)
            case .redirect(let error, let description, let redirectURI, let state):
                return SandboxRedirect.error(error, description: description, redirectURI: redirectURI, state: state, issuer: issuer, status: status)
            }
        }
    }
}
