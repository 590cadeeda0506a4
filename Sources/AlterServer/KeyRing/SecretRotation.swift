import FluentKit
import Foundation

/// Re-encrypts every stored secret with the sealer's active key. Rows are rewritten one
/// table at a time, each in a transaction; old keys stay readable throughout, so a rotation
/// interrupted halfway loses nothing and can simply be run again.
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
        let providerSecrets = try await db.transaction { db in
            let configs = try await ProviderConfig.query(on: db).all()
            for config in configs {
                config.sealedClientSecret = try reseal(config.sealedClientSecret, row: try config.requireID(), field: ProviderConfig.secretField)
                try await config.update(on: db)
            }
            return configs.count
        }
        let grantTokens = try await db.transaction { db in
            let grants = try await Grant.query(on: db).all()
            for grant in grants {
                let id = try grant.requireID()
                grant.sealedAccessToken = try reseal(grant.sealedAccessToken, row: id, field: Grant.SealedField.accessToken.rawValue)
                if let refresh = grant.sealedRefreshToken {
                    grant.sealedRefreshToken = try reseal(refresh, row: id, field: Grant.SealedField.refreshToken.rawValue)
                }
                try await grant.update(on: db)
            }
            return grants.count
        }
        let (webhookSecrets, verifiers) = try await db.transaction { db in
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
        let managedSecrets = try await db.transaction { db in
            let secrets = try await ManagedSecret.query(on: db).all()
            for secret in secrets {
                secret.sealedValue = try reseal(secret.sealedValue, row: try secret.requireID(), field: SecretValue.sealedField)
                try await secret.update(on: db)
            }
            return secrets.count
        }
        return Report(
            providerSecrets: providerSecrets, grantTokens: grantTokens, webhookSecrets: webhookSecrets, verifiers: verifiers, managedSecrets: managedSecrets)
    }
}
