import FluentKit
import Foundation
import SQLKit

/// Re-encrypts every stored secret with the sealer's active key. Grants (which refreshes
/// rewrite while servers serve) are re-sealed one row at a time by compare-and-swap; the
/// other tables one at a time, each in a transaction. Old keys stay readable throughout, so
/// a rotation interrupted halfway loses nothing and can simply be run again.
enum SecretRotation {
    struct Report: Sendable, Equatable {
        var providerSecrets = 0
        var grantTokens = 0
        var webhookSecrets = 0
        var verifiers = 0
        var managedSecrets = 0
    }

    static func reencryptAll(db: any Database, sealer: Sealer) async throws -> Report {
        @Sendable func reseal(_ sealed: String, row: UUID, field: String) throws -> String {
            try sealer.seal(try sealer.open(sealed, row: row.uuidString, field: field), row: row.uuidString, field: field)
        }
        // Each transaction reads its rows, then rewrites them: while a serving instance writes on
        // SQLite that first write is refused at once, and the transaction runs again with the
        // rows read anew (WriteTransaction).
        let providerSecrets = try await WriteTransaction.run(on: db) { db in
            let configs = try await ProviderConfig.query(on: db).all()
            for config in configs {
                config.sealedClientSecret = try reseal(config.sealedClientSecret, row: try config.requireID(), field: ProviderConfig.secretField)
                try await config.update(on: db)
            }
            return configs.count
        }
        var grantTokens = 0
        for id in try await Grant.query(on: db).all(\.$id) {
            if try await resealGrant(id, db: db, sealer: sealer) { grantTokens += 1 }
        }
        let (webhookSecrets, verifiers) = try await WriteTransaction.run(on: db) { db in
            let apps = try await ClientApp.query(on: db).filter(\.$sealedWebhookSecret != nil).all()
            for app in apps {
                app.sealedWebhookSecret = try reseal(app.sealedWebhookSecret!, row: try app.requireID(), field: ClientApp.webhookSecretField)
                try await app.update(on: db)
            }
            let attempts = try await OAuthAttempt.query(on: db).filter(\.$consumedAt == nil).all()
            for attempt in attempts {
                attempt.sealedVerifier = try reseal(attempt.sealedVerifier, row: try attempt.requireID(), field: OAuthAttempt.verifierField)
                try await attempt.update(on: db)
            }
            return (apps.count, attempts.count)
        }
        let managedSecrets = try await WriteTransaction.run(on: db) { db in
            let secrets = try await ManagedSecret.query(on: db).all()
            for secret in secrets {
                secret.sealedValue = try reseal(secret.sealedValue, row: try secret.requireID(), field: SecretValue.sealedField)
                try await secret.update(on: db)
            }
            return secrets.count
        }
        // Every secret is under the active key: the others may now leave the rings.
        try await KeyRingCheck.rotationFinished(active: sealer.activeKey.id, on: db)
        return Report(
            providerSecrets: providerSecrets, grantTokens: grantTokens, webhookSecrets: webhookSecrets, verifiers: verifiers, managedSecrets: managedSecrets)
    }

    /// A grant's token columns changed between our read and our write (a refresh committed):
    /// after this many re-reads the rotation stops rather than spin; run it again.
    struct GrantKeptChanging: Error, CustomStringConvertible {
        let id: UUID
        var description: String { "grant \(id.lowercasedString) kept changing during the rotation; run it again" }
    }

    /// Re-seals one grant's tokens by compare-and-swap: the row is written only while its
    /// sealed tokens are still the ones read, so a refresh that commits meanwhile (on any
    /// instance) is never overwritten with the old tokens (security review F7: a rotating
    /// provider has already invalidated the old refresh token). A lost race re-reads. A grant
    /// already under the active key is left alone, so an interrupted rotation resumes where
    /// it stopped. Returns false if the grant is gone.
    static func resealGrant(_ id: UUID, db: any Database, sealer: Sealer) async throws -> Bool {
        let row = id.uuidString
        for _ in 0..<10 {
            guard let grant = try await Grant.find(id, on: db) else { return false }
            let (oldAccess, oldRefresh) = (grant.sealedAccessToken, grant.sealedRefreshToken)
            if ([oldAccess] + [oldRefresh].compactMap { $0 }).allSatisfy({ Sealer.keyID(of: $0) == sealer.activeKey.id }) { return true }
            let access = try sealer.seal(try sealer.open(oldAccess, row: row, field: Grant.SealedField.accessToken.rawValue), row: row, field: Grant.SealedField.accessToken.rawValue)
            let refresh = try oldRefresh.map {
                try sealer.seal(try sealer.open($0, row: row, field: Grant.SealedField.refreshToken.rawValue), row: row, field: Grant.SealedField.refreshToken.rawValue)
            }
            let written = try await ClaimOnce.claim(Grant.schema, id: id, on: db) { update in
                let update = update.set("access_token", to: access).set("refresh_token", to: refresh).where("access_token", .equal, oldAccess)
                return oldRefresh.map { update.where("refresh_token", .equal, $0) } ?? update.where("refresh_token", .is, SQLLiteral.null)
            }
            if written { return true }
        }
        throw GrantKeptChanging(id: id)
    }
}
