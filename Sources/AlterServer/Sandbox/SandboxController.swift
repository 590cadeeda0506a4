import Vapor

/// The built-in sandbox OAuth 2.0 provider, under `/sandbox/` (registered only when
/// `sandboxEnabled`). A real authorization server, so the vault's OAuth client is exercised
/// exactly as against Google:
///
/// - `GET  /sandbox/oauth/authorize`  consent page (RFC 6749 §4.1.1, PKCE S256 required)
/// - `POST /sandbox/oauth/decision`   the consent form: Allow or Deny, then back to the client
/// - `POST /sandbox/oauth/token`      `authorization_code` and `refresh_token` grants
/// - `POST /sandbox/oauth/revoke`     RFC 7009
/// - `GET  /sandbox/api/me`, `GET /sandbox/api/calendar/events`, `/sandbox/api/echo`,
///   `/sandbox/api/status/{code}`     the Bearer-protected API
/// - `GET|POST /sandbox/control`      switches that simulate provider failures, and counters
///
/// All state is in the database, so several server instances (and test processes) agree.
struct SandboxController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let sandbox = routes.grouped("sandbox")
        try sandbox.register(collection: SandboxAuthorizationController())
        try sandbox.register(collection: SandboxTokenController())
        try sandbox.register(collection: SandboxAPIController())
        try sandbox.register(collection: SandboxControlController())
    }
}
