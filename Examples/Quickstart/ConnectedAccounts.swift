import AlterVault
import Vapor

/// One account a user connected, as this app remembers it.
struct ConnectedAccount: Content, Equatable {
    var grantId: String
    var provider: String
    var providerName: String
    var accountIdentifier: String
}

/// Which grants each user connected, and the Connect sessions minted for them that have not
/// been read yet.
///
/// Kept in memory so the example stays about Alter Vault: a real app stores `grant_id` next
/// to its user, in its own database, so connections survive a restart.
actor ConnectedAccounts {
    private var byUser: [String: [ConnectedAccount]] = [:]
    private var sessionsByUser: [String: [String]] = [:]

    func remember(session token: String, for user: String) {
        sessionsByUser[user, default: []].append(token)
    }

    func sessions(for user: String) -> [String] {
        sessionsByUser[user] ?? []
    }

    func forget(session token: String, for user: String) {
        sessionsByUser[user]?.removeAll { $0 == token }
    }

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
