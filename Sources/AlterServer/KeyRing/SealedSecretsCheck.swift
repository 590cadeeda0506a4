import FluentKit

/// Refuses to start when a stored secret was sealed with a key the ring does not have —
/// better than failing later, one request at a time.
enum SealedSecretsCheck {
    static func verifyAllKeysPresent(db: any Database, sealer: Sealer) async throws {
        var sealed = try await ProviderConfig.query(on: db).all(\.$sealedClientSecret)
        sealed += try await Grant.query(on: db).all(\.$sealedAccessToken)
        sealed += try await Grant.query(on: db).filter(\.$sealedRefreshToken != nil).all(\.$sealedRefreshToken).compactMap { $0 }
        sealed += try await ManagedSecret.query(on: db).all(\.$sealedValue)
        sealed += try await ClientApp.query(on: db).filter(\.$sealedWebhookSecret != nil).all(\.$sealedWebhookSecret).compactMap { $0 }
        let missing = Set(sealed.compactMap(Sealer.keyID(of:))).subtracting(sealer.keyIDs)
        guard missing.isEmpty else {
            throw ConfigurationError(
                "stored secrets were encrypted with key(s) \(missing.sorted().joined(separator: ", ")), which are not in the key ring; set ALTER_ENCRYPTION_KEYS or restore \(EncryptionKeys.fileName) in the data directory")
        }
    }
}
