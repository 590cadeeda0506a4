import FluentKit

/// Refuses to start when a stored secret was sealed with a key the ring does not have —
/// better than failing later, one request at a time.
enum SealedSecretsCheck {
    static func verifyAllKeysPresent(db: any Database, sealer: Sealer) async throws {
        let sealed = try await ProviderConfig.query(on: db).all(\.$sealedClientSecret)
        let missing = Set(sealed.compactMap(Sealer.keyID(of:))).subtracting(sealer.keyIDs)
        guard missing.isEmpty else {
            throw ConfigurationError(
                "stored secrets were encrypted with key(s) \(missing.sorted().joined(separator: ", ")), which are not in the key ring; set ALTER_ENCRYPTION_KEYS or restore \(EncryptionKeys.fileName) in the data directory")
        }
    }
}
