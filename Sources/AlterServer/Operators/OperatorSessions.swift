import Fluent
import FluentKit
import Foundation
import Vapor

/// Portal sign-in sessions: started after `OperatorAccounts.authenticate`, found again from
/// the cookie on each request, ended by signing out or by time.
///
/// The cookie (`alter_portal`, path `/portal`) holds a 256-bit random token whose SHA-256 is
/// the session's key. It is HttpOnly, SameSite=Strict, and Secure unless the vault is served
/// over plain http on a loopback address (development), where a Secure cookie would not be
/// stored.
struct OperatorSessions {
    static let cookieName = "alter_portal"
    static let cookiePath = "/portal"
    static let tokenPrefix = "ops_"

    let db: any Database
    let now: Date
    let policy: Policy

    struct Policy: Sendable {
        /// A session ends this long after sign-in, however active.
        var lifetime: TimeInterval = 12 * 3600
        /// … and after this long without a request.
        var idleTimeout: TimeInterval = 30 * 60
        var secureCookie: Bool
    }

    struct Started {
        let session: OperatorSession
        let cookie: HTTPCookies.Value
    }

    func start(for account: Operator) async throws -> Started {
        let token = SecretToken.generate(prefix: Self.tokenPrefix)
        let session = OperatorSession()
        session.id = UUID()
        session.tokenHash = SecretToken.hash(token)
        session.$signedIn.id = try account.requireID()
        session.csrfToken = SecretToken.randomString(bytes: 32)
        session.createdAt = now
        session.expiresAt = now.addingTimeInterval(policy.lifetime)
        session.lastSeenAt = now
        try await session.create(on: db)
        // Remove this operator's ended sessions; there is no other sweep.
        try await OperatorSession.query(on: db).filter(\.$signedIn.$id == account.requireID()).filter(\.$expiresAt < now).delete()
        return Started(session: session, cookie: cookie(token, maxAge: Int(policy.lifetime)))
    }

    /// The session the request's cookie names, when it has not ended; touches `last_seen_at`
    /// at most once a minute (a write per page view would serialise SQLite).
    func resolve(_ request: Request) async throws -> (Operator, OperatorSession)? {
        guard let token = request.cookies[Self.cookieName]?.string, SecretToken.isWellFormed(token, prefix: Self.tokenPrefix),
            let session = try await OperatorSession.query(on: db).filter(\.$tokenHash == SecretToken.hash(token)).with(\.$signedIn).first()
        else { return nil }
        guard now < session.expiresAt, now < session.lastSeenAt.addingTimeInterval(policy.idleTimeout) else {
            try await session.delete(on: db)
            return nil
        }
        if now.timeIntervalSince(session.lastSeenAt) > 60 {
            session.lastSeenAt = now
            try await session.update(on: db)
        }
        return (session.signedIn, session)
    }

    /// Ends the request's session (if any) and returns the cookie that clears it.
    func end(_ request: Request) async throws -> HTTPCookies.Value {
        if let token = request.cookies[Self.cookieName]?.string {
            try await OperatorSession.query(on: db).filter(\.$tokenHash == SecretToken.hash(token)).delete()
        }
        return cookie("", maxAge: 0)
    }

    /// Ends every session of `account` (`alter operators sign-out`).
    func endAll(of account: Operator) async throws -> Int {
        let accountID = try account.requireID()
        let sessions = OperatorSession.query(on: db).filter(\.$signedIn.$id == accountID)
        let count = try await sessions.copy().count()
        try await sessions.delete()
        return count
    }

    func cookie(_ value: String, maxAge: Int) -> HTTPCookies.Value {
        HTTPCookies.Value(string: value, maxAge: maxAge, path: Self.cookiePath, isSecure: policy.secureCookie, isHTTPOnly: true, sameSite: .strict)
    }
}

extension Request {
    private enum SignedInKey: StorageKey { typealias Value = SignedInOperator }

    /// Who is signed in to the portal on this request, once `OperatorSessionMiddleware` found
    /// the session; nil otherwise. Other rooms (approvals) may read it.
    var signedInOperator: SignedInOperator? {
        get { storage[SignedInKey.self] }
        set { storage[SignedInKey.self] = newValue }
    }

    /// The sessions of this server's configuration at this request's time.
    var operatorSessions: OperatorSessions {
        let configuration = application.alterConfiguration
        return OperatorSessions(db: db, now: application.clock.now(), policy: .init(
            lifetime: configuration.portalSessionLifetime, idleTimeout: configuration.portalIdleTimeout,
            secureCookie: configuration.isHTTPS || !configuration.isLoopback))
    }
}

/// The signed-in operator and the CSRF token their forms must carry.
struct SignedInOperator: Sendable {
    let id: UUID
    let email: String
    let csrfToken: String
    let sessionID: UUID
}

/// Finds the portal session of a request and stores it in `request.signedInOperator`;
/// requests without one go on unsigned (each route decides what that means).
struct OperatorSessionMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let (account, session) = try await request.operatorSessions.resolve(request) {
            request.signedInOperator = SignedInOperator(
                id: try account.requireID(), email: account.email, csrfToken: session.csrfToken, sessionID: try session.requireID())
        }
        return try await next.respond(to: request)
    }
}
