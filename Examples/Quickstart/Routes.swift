import AlterVault
import Foundation
import Vapor

/// The page and the three endpoints it calls. Each step says which SDK call it makes.
func routes(_ app: Application, vault: AlterVault, accounts: ConnectedAccounts, origin: String) {
    // The sandbox provider's calendar API; with Google it would be
    // https://www.googleapis.com/calendar/v3/users/me/calendarList, and so on.
    let calendarURL = vault.baseURL + "/sandbox/api/calendar/events"

    app.get { request -> Response in
        let response = Response(status: .ok, body: .init(string: QuickstartPage.html(alterURL: vault.baseURL)))
        response.headers.contentType = .html
        if request.cookies[DemoUser.cookie] == nil { response.cookies[DemoUser.cookie] = DemoUser.newCookie() }
        return response
    }

    // 1. The Connect button asks for a session; the SDK mints it with the app key. The backend
    //    remembers which user it minted the session for. "Reconnect" names the grant to repair,
    //    so the same account comes back as that grant.
    app.get("api", "connect-session") { request async throws -> SessionTokenResponse in
        let user = try DemoUser.id(of: request)
        let provider = request.query[String.self, at: "provider"] ?? "sandbox"
        var repair: String?
        if let grantId = request.query[String.self, at: "repair"] {
            guard await accounts.find(grantId: grantId, for: user) != nil else { throw Abort(.notFound, reason: "No such connected account.") }
            repair = grantId
        }
        let session = try await vault.createConnectSession(
            allowedProviders: [provider],
            allowedOrigin: origin,  // where the popup may post its result: this page
            returnURL: origin + "/",  // where phones come back after the full-page redirect
            repairGrantID: repair)
        await accounts.remember(session: session.sessionToken, for: user)
        return SessionTokenResponse(sessionToken: session.sessionToken)
    }

    // 2. When the widget reports success, the backend asks the vault what the sessions it
    //    minted for this user produced. It never takes grant ids from the browser: a user who
    //    learned someone else's grant id cannot attach it to their account.
    app.post("api", "accounts") { request async throws -> [ConnectedAccount] in
        let user = try DemoUser.id(of: request)
        for token in await accounts.sessions(for: user) {
            let result = try await vault.connectSessionResult(sessionToken: token)
            if result.status == .pending { continue }
            for grant in result.grants {
                let account = ConnectedAccount(
                    grantId: grant.grantID, provider: grant.provider, providerName: grant.providerName, accountIdentifier: grant.accountIdentifier)
                await accounts.save(account, for: user)
            }
            await accounts.forget(session: token, for: user)
        }
        return await accounts.list(for: user)
    }

    app.get("api", "accounts") { request async throws -> [ConnectedAccount] in
        await accounts.list(for: try DemoUser.id(of: request))
    }

    // 3. "Call API": the vault adds the user's token, refreshing it when needed.
    app.post("api", "call") { request async throws -> Response in
        let user = try DemoUser.id(of: request)
        let grantId = try request.content.decode(CallRequest.self).grantId
        guard let account = await accounts.find(grantId: grantId, for: user) else {
            throw Abort(.notFound, reason: "No such connected account.")
        }
        do {
            let response = try await vault.request(.GET, calendarURL, grantID: account.grantId)
            // The provider's answer, whatever its status: a provider 4xx/5xx is not a vault error.
            let body = (try? response.json(JSONValue.self)) ?? .string(response.text)
            return try jsonResponse(CallResult(status: response.status, body: body))
        } catch let error as CredentialRevokedError {
            // The user revoked access (or the provider expired it): offer to connect again with
            // this grant as the one to repair; it then comes back as "reauth" with the same id.
            return try jsonResponse(CallFailure(error: "credential_revoked", message: error.message, grantId: error.grantID), status: .conflict)
        } catch let error as AlterVaultError {
            return try jsonResponse(CallFailure(error: error.code.rawValue, message: error.message, grantId: grantId), status: .badGateway)
        }
    }
}

struct SessionTokenResponse: Content { var sessionToken: String }
struct CallRequest: Content { var grantId: String }
struct CallResult: Content { var status: Int; var body: JSONValue }
struct CallFailure: Content { var error: String; var message: String; var grantId: String }

private func jsonResponse(_ value: some Content, status: HTTPResponseStatus = .ok) throws -> Response {
    let response = Response(status: status)
    try response.content.encode(value, as: .json)
    return response
}

/// Stands in for your login: each browser gets a random user id in a cookie.
enum DemoUser {
    static let cookie = "quickstart_user"

    static func newCookie() -> HTTPCookies.Value {
        HTTPCookies.Value(string: UUID().uuidString, isHTTPOnly: true, sameSite: .lax)
    }

    static func id(of request: Request) throws -> String {
        guard let id = request.cookies[cookie]?.string else { throw Abort(.unauthorized, reason: "Reload the page to get a demo user.") }
        return id
    }
}
