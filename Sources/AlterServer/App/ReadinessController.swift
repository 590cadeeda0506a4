import Fluent
import FluentKit
import Foundation
import SQLKit
import Vapor

/// `GET /readyz`: 200 when this instance can serve — the database answers and has every
/// migration, and the key ring seals and opens — else 503 naming what failed. `/healthz`
/// stays a liveness probe (the process answers), so an orchestrator restarts only a hung
/// process and merely stops routing to one whose database is away.
struct ReadinessController: RouteCollection {
    struct Report: Content {
        var status: String
        var checks: [String: String]
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("readyz", use: ready)
    }

    func ready(request: Request) async throws -> Response {
        var checks: [String: String] = [:]
        checks["database"] = await Self.database(request)
        checks["key_ring"] = Self.keyRing(request.application.sealer)
        let ready = checks.values.allSatisfy { $0 == "ok" }
        let response = Response(status: ready ? .ok : .serviceUnavailable)
        response.headers.cacheControl = .init(noStore: true)
        try response.content.encode(Report(status: ready ? "ready" : "not_ready", checks: checks))
        return response
    }

    /// "ok", or what is wrong (never a driver's message: it can carry connection strings).
    static func database(_ request: Request) async -> String {
        guard let sql = request.db as? any SQLDatabase else { return "not an SQL database" }
        do {
            _ = try await sql.raw("SELECT 1").run()
            let applied = try await sql.raw("SELECT COUNT(*) AS n FROM _fluent_migrations").first(decodingColumn: "n", as: Int.self) ?? 0
            return applied >= AlterMigrations.all.count ? "ok" : "migrations pending (\(applied) of \(AlterMigrations.all.count) applied)"
        } catch {
            return "unreachable"
        }
    }

    /// The active key seals, and the ring opens what it sealed.
    static func keyRing(_ sealer: Sealer) -> String {
        let probe = "readiness"
        guard let sealed = try? sealer.seal(probe, row: "readyz", field: "probe"),
            (try? sealer.open(sealed, row: "readyz", field: "probe")) == probe
        else { return "cannot seal and open" }
        return "ok"
    }
}
