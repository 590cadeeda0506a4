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
    /// is at the provider, or the callback is still exchanging the code.
    var oauthInProgress = false

    static func read(_ session: ConnectSession, catalog: ProviderCatalog, now: Date, on db: any Database) async throws -> SessionResult {
        switch session.status {
        case .completed:
            return SessionResult(status: .completed, grants: try await SessionGrants.payloads(of: session, catalog: catalog, on: db))
        case .failed:
            return SessionResult(
                status: session.errorCode == APIError.Code.sessionExpired.rawValue ? .expired : .failed,
                error: SessionOutcome.error(of: session))
        case .pending where SessionOutcome.isExpired(session, now: now):
            return SessionResult(status: .expired, error: SessionOutcome.expiredError.payload)
        case .pending:
            let inProgress = try await OAuthAttempt.query(on: db)
                .filter(\.$session.$id == session.requireID()).filter(\.$finishedAt == nil)
                .filter(\.$expiresAt > now).count() > 0
            return SessionResult(status: .pending, oauthInProgress: inProgress)
        }
    }
}
