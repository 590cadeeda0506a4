import FluentKit
import Foundation

extension Grant {
    /// The status both wire shapes (`GrantInfo`, `GrantPayload`) report. The seeds allow
    /// `active | pending | error`; a revoked grant is reported as `error`.
    enum WireStatus: String, Codable, Sendable {
        case active, pending, error
    }

    var wireStatus: WireStatus {
        switch status {
        case .active: .active
        case .pending: .pending
        case .error, .revoked: .error
        }
    }

    /// The grant id as every wire shape spells it: a lowercase UUID.
    func publicID() throws -> String { try requireID().lowercasedString }

    /// The end user the grant belongs to, as the API reports it; nil for an anonymous grant.
    var user: String? { Self.user(ofSubject: userSubject) }

    static func user(ofSubject subject: String) -> String? {
        subject.isEmpty || subject.hasPrefix(anonymousPrefix) ? nil : subject
    }

    /// Anonymous grants (sessions without `user_token`) store a subject of their own, so the
    /// unique app + provider + account + subject key lets two of them hold one account.
    /// `UserTokenVerifier` refuses subjects with this prefix.
    static let anonymousPrefix = UserTokenVerifier.reservedSubjectPrefix

    static func anonymousSubject(_ grantID: UUID) -> String { anonymousPrefix + grantID.lowercasedString }

    /// True when a session with `subject` ("" for none) speaks for this grant's end user.
    func isOwned(bySubject subject: String) -> Bool {
        subject.isEmpty ? user == nil : userSubject == subject
    }
}
