import Foundation

extension ConnectSession {
    /// The session's life, computed from its row and the clock (never stored on its own):
    ///
    ///     unused ──first load──▶ inFlow ──all providers / Done──▶ completed
    ///        │                     │ └──────error, deny─────────▶ failed
    ///        └──token TTL──▶ expired ◀──flowLifetime──┘
    enum State: Equatable, Sendable {
        /// Minted; nobody has loaded `connect_url` yet.
        case unused
        /// Loaded by one browser, which may pick providers until the flow lifetime ends.
        case inFlow
        case completed
        case failed
        /// Not loaded within the token's TTL, or the flow ran past `flowLifetime`.
        case expired
    }

    /// How long a flow may run after its token was first loaded.
    static let flowLifetime: TimeInterval = 1800

    /// The error a session that ran out of time ends with.
    static let expiredError = APIError(.sessionExpired, "This Connect session has expired or was already used. Start again from the app.")

    static func state(status: Status, consumedAt: Date?, expiresAt: Date, errorCode: String?, now: Date) -> State {
        switch status {
        case .completed: return .completed
        case .failed: return errorCode == expiredError.code.rawValue ? .expired : .failed
        case .pending:
            guard let consumedAt else { return now < expiresAt ? .unused : .expired }
            return now <= consumedAt.addingTimeInterval(flowLifetime) ? .inFlow : .expired
        }
    }

    func state(at now: Date) -> State {
        Self.state(status: status, consumedAt: consumedAt, expiresAt: expiresAt, errorCode: errorCode, now: now)
    }

    /// The error a failed or expired session ended with, in the wire shape.
    var error: APIErrorBody.Payload? {
        guard status == .failed, let errorCode else { return nil }
        return .init(code: errorCode, message: errorMessage ?? "", details: errorDetails)
    }
}
