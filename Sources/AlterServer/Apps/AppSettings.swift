import Fluent
import FluentKit
import Foundation

/// The rules of an app's own settings, for `alter apps` and the portal: its name and its
/// website origin. Each returns the value to store or throws `APIError` (`invalid_request`)
/// with a message both surfaces show as it is.
enum AppSettings {
    static let maxNameLength = 100

    static func name(_ raw: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= maxNameLength else { throw APIError.invalidRequest("The app name is required (1–\(maxNameLength) characters).") }
        return name
    }

    /// An origin like `https://app.example.com`; "" or nil: none. `field` names the input in
    /// the message (`--website-url`, `The website URL`).
    static func websiteURL(_ raw: String?, field: String = "The website URL") throws -> String? {
        guard let raw = raw?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        do {
            return try AllowedOrigin(parsing: raw).value
        } catch {
            throw APIError.invalidRequest("\(field) \(error.rule) (expected an origin like https://app.example.com)")
        }
    }

    static func create(name: String, websiteURL: String?, websiteField: String = "The website URL", on db: any Database) async throws -> ClientApp {
        let app = ClientApp(name: try Self.name(name), websiteURL: try Self.websiteURL(websiteURL, field: websiteField))
        try await app.create(on: db)
        return app
    }
}

/// An app's own keys (not its agents'), for `alter keys` and the portal: create (the secret
/// is returned once), list, revoke.
struct AppKeyManagement {
    let db: any Database
    let appID: UUID

    func create() async throws -> (key: APIKey, secret: String) {
        let (key, secret) = APIKey.make(for: appID)
        try await key.create(on: db)
        return (key, secret)
    }

    /// Oldest first; an agent's keys are `AgentKeyring`'s.
    func list() async throws -> [APIKey] {
        try await APIKey.query(on: db).filter(\.$app.$id == appID).filter(\.$agent.$id == nil).sort(\.$createdAt).all()
    }

    /// Revokes one of this app's keys; revoking a revoked key changes nothing. Requests with
    /// it are refused once `AppKeyCache` forgets it (`AppKeyCache.lifetime`).
    func revoke(_ id: UUID, now: Date) async throws -> APIKey {
        guard let key = try await APIKey.query(on: db).filter(\.$id == id).filter(\.$app.$id == appID).first() else {
            throw APIError(.keyNotFound, "No such key for this app.")
        }
        // An agent's key keeps its own rules (the last one needs --force).
        guard key.$agent.id == nil else { throw APIError.invalidRequest("This is an agent key; revoke it with the agent's keys.") }
        if key.revokedAt == nil {
            key.revokedAt = now
            try await key.update(on: db)
        }
        return key
    }
}
