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
    func publicID() throws -> String { try requireID().uuidString.lowercased() }
}
