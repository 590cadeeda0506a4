import FluentKit
import Foundation

/// Finishing a Connect session, and reading what it produced.
enum SessionOutcome {
    /// How long a flow may run after its token was first loaded.
    static let flowLifetime: TimeInterval = 1800

    static func complete(_ session: ConnectSession, at now: Date, on db: any Database) async throws {
        guard session.status == .pending else { return }
        session.status = .completed
        session.finishedAt = now
        try await session.update(on: db)
    }

    static func fail(_ session: ConnectSession, _ error: APIError, at now: Date, on db: any Database) async throws {
        guard session.status == .pending else { return }
        session.status = .failed
        session.errorCode = error.code.rawValue
        session.errorMessage = error.message
        session.errorDetails = error.details
        session.finishedAt = now
        try await session.update(on: db)
    }

    /// The session's error in the wire shape, when it failed.
    static func error(of session: ConnectSession) -> APIErrorBody.Payload? {
        guard session.status == .failed, let code = session.errorCode else { return nil }
        return .init(code: code, message: session.errorMessage ?? "", details: session.errorDetails)
    }

    /// True when a pending session can no longer make progress: its token was never used in
    /// time, or its flow ran past `flowLifetime`.
    static func isExpired(_ session: ConnectSession, now: Date) -> Bool {
        guard session.status == .pending else { return false }
        if let consumed = session.consumedAt { return now > consumed.addingTimeInterval(flowLifetime) }
        return now >= session.expiresAt
    }

    static let expiredError = APIError(.sessionExpired, "This Connect session has expired or was already used. Start again from the app.")
}
