import FluentKit
import Foundation

/// What a Connect session produced, as every reader sees it: the widget's result endpoint,
/// the app backend's `/v1` read and the official SDK's poll. One function reads it from the
/// session row, its grants, its OAuth attempts and the clock, so the readers cannot disagree.
struct SessionResult: Sendable, Equatable {
    enum Status: String, Codable, Sendable {
        case pending, completed, failed, expired
    }

    var status: Status
    /// Grants made in the session, oldest first; empty unless `completed`.
    var grants: [GrantPayload] = []
    /// Set for `failed` and `expired`.
    var error: APIErrorBody.Payload?
    /// Pending with an OAuth attempt started and not yet finished by its callback: the user
    /// is at the provider (or on the page that links there), or a live callback is still
    /// exchanging the code.
    var oauthInProgress = false

    /// How long after it completed a session still lists its grants (security review F14: the
    /// token sits in sessionStorage and in proxy logs). Afterwards it reads as `expired`.
    static let grantsWindow: TimeInterval = 600

    static func read(_ session: ConnectSession, catalog: ProviderCatalog, now: Date, on db: any Database) async throws -> SessionResult {
        // An attempt whose server died mid-callback reads as ended within seconds, not as in
        // progress for its 10 minutes (issue 14, crash test (a)).
        if session.state(at: now) == .inFlow { try await AttemptLease.settle(session, at: now, on: db) }
        switch session.state(at: now) {
        case .completed where now > (session.finishedAt ?? now).addingTimeInterval(grantsWindow):
            return SessionResult(status: .expired, error: ConnectSession.expiredError.payload)
        case .completed:
            return SessionResult(status: .completed, grants: try await SessionGrants.payloads(of: session, catalog: catalog, on: db))
        case .failed:
            return SessionResult(status: .failed, error: session.error)
        case .expired:
            return SessionResult(status: .expired, error: ConnectSession.expiredError.payload)
        case .unused:
            return SessionResult(status: .pending)
        case .inFlow:
            let inProgress = try await OAuthAttempt.query(on: db)
                .filter(\.$session.$id == session.requireID()).filter(\.$finishedAt == nil)
                .filter(\.$expiresAt > now).count() > 0
            return SessionResult(status: .pending, oauthInProgress: inProgress)
        }
    }
}
