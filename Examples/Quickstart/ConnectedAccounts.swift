import AlterVault
import Vapor

/// One account a user connected, as this app remembers it.
struct ConnectedAccount: Content, Equatable {
    var grantId: String
    var provider: String
    var providerName: String
    var accountIdentifier: String
}

/// Which grants each user connected.
///
/// Kept in memory so the example stays about Alter Vault: a real app stores `grant_id` next
/// to its user, in its own database, so connections survive a restart.
actor ConnectedAccounts {
    private var byUser: [String: [ConnectedAccount]] = [:]

    func list(for user: String) -> [ConnectedAccount] {
        byUser[user] ?? []
    }

    /// Adds an account, or replaces it when the grant is already known (a reconnect keeps its id).
    func save(_ account: ConnectedAccount, for user: String) {
        var accounts = byUser[user] ?? []
        if let index = accounts.firstIndex(where: { $0.grantId == account.grantId }) {
            accounts[index] = account
        } else {
            accounts.append(account)
        }
        byUser[user] = accounts
    }

    /// The account if it belongs to `user`: a user can only call APIs with their own grants.
    func find(grantId: String, for user: String) -> ConnectedAccount? {
        byUser[user]?.first { $0.grantId == grantId }
    }
}
