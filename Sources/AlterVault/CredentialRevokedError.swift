import Foundation

/// The provider no longer accepts the grant's refresh token: the user revoked access, changed
/// their password, or the token expired at the provider.
///
/// The vault has marked the grant `error`. Mint a session with `repairGrantID: error.grantID`
/// and the grant's provider, and run the Connect widget again; when the same account comes
/// back the flow completes as a re-authorization (`operation: "reauth"`) and the grant keeps
/// its id, so ids you stored stay valid.
///
/// ```swift
/// do {
///     let response = try await vault.request(.GET, url, grantID: grantID)
/// } catch let error as CredentialRevokedError {
///     return .reconnect(grantID: error.grantID)   // show a "Reconnect" button
/// }
/// ```
public struct CredentialRevokedError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The grant whose credential was revoked.
    public let grantID: String
    /// The vault's message, safe to show.
    public let message: String

    /// Creates the error for a grant.
    ///
    /// - Parameters:
    ///   - grantID: The grant whose refresh token the provider rejected.
    ///   - message: A message safe to show.
    public init(grantID: String, message: String = "The provider revoked this grant's credential; connect the account again.") {
        self.grantID = grantID
        self.message = message
    }

    /// `credential_revoked (grant …): message`.
    public var description: String { "credential_revoked (grant \(grantID)): \(message)" }
}
