import FluentKit
import Foundation

/// The grants a Connect session made or re-authorized, read through `SessionGrant` links.
enum SessionGrants {
    /// Oldest first, in the seeds' shape.
    static func payloads(of session: ConnectSession, catalog: ProviderCatalog, on db: any Database) async throws -> [GrantPayload] {
        let links = try await SessionGrant.query(on: db).filter(\.$session.$id == session.requireID()).with(\.$grant)
            .sort(\.$connectedAt).all()
        return try links.map { try GrantPayload(grant: $0.grant, operation: $0.operation, at: $0.connectedAt, catalog: catalog) }
    }

    static func connectedProviders(of session: ConnectSession, on db: any Database) async throws -> Set<String> {
        let links = try await SessionGrant.query(on: db).filter(\.$session.$id == session.requireID()).with(\.$grant).all()
        return Set(links.map(\.grant.provider))
    }
}
