import Fluent
import FluentKit
import Foundation
import Vapor

/// Starting OAuth at one provider of a session: a new `OAuthAttempt` (state, PKCE verifier,
/// OIDC nonce, redirect URI, this browser's binding) and the provider's authorization URL.
///
/// Two places start: the flow page of a one-provider session, while it renders, so its script
/// (or its Continue link) goes straight to the provider (the former `/start` → 303 hop cost
/// the popup a whole navigation and a write of its own, issue 13); and `/connect/s/{id}/start`
/// for a provider picked in the picker (F1: it needs this browser's proof; F22: only the
/// session's providers). The authorization URL carries the `state`, which only this
/// browser's page ever holds, so a page outside the vault can no more send a bound browser to
/// the provider with it than it could with the proof.
enum OAuthStart {
    /// - Throws: `HostedPageError` 409 when the app no longer offers the provider, 400 when its
    ///   config lacks URL variables; nothing is stored then.
    static func begin(
        _ session: ConnectSession, provider providerID: String, now: Date, request: Request, on db: any Database
    ) async throws -> String {
        guard let provider = try await request.application.providerCatalog.forApp(session.$app.id, on: db)[providerID],
            let config = try await ProviderConfig.query(on: db).filter(\.$app.$id == session.$app.id)
                .filter(\.$provider == providerID).filter(\.$enabled == true).first()
        else {
            throw HostedPageError(title: "This provider is not available", text: "Go back and pick another one.", status: .conflict)
        }
        let state = SecretToken.randomString(bytes: 32)
        let pkce = PKCE.generate()
        let nonce = OAuthClient.nonce(provider: provider, config: config)
        let redirectURI = config.redirectURI(publicURL: request.application.alterConfiguration.publicURL)
        // A provider whose URL variables (tenant, shop) are missing or invalid cannot start.
        guard let url = try? OAuthClient.authorizationURL(provider: provider, config: config, redirectURI: redirectURI, state: state, pkce: pkce, nonce: nonce)
        else {
            throw HostedPageError(title: "This provider is not set up completely", text: "Ask the app's administrator to finish setting it up, or pick another provider.")
        }
        let attempt = OAuthAttempt()
        attempt.id = UUID()
        attempt.$session.id = try session.requireID()
        attempt.provider = providerID
        attempt.stateHash = SecretToken.hash(state)
        attempt.sealedVerifier = try request.application.sealer.seal(pkce.verifier, row: attempt.id!.uuidString, field: OAuthAttempt.verifierField)
        attempt.browserHash = session.browserHash ?? ""
        attempt.expiresAt = now.addingTimeInterval(OAuthAttempt.lifetime)
        attempt.redirectURI = redirectURI
        attempt.nonceHash = nonce.map(SecretToken.hash)
        try await attempt.create(on: db)
        return url
    }
}
