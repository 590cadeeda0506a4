@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Logging
import SQLKit
import Testing
import Vapor

/// What an operator relies on, over real HTTP: request ids, readiness, the metrics endpoint.
@Suite("Request ids, readiness and metrics")
struct OperabilityTests {
    /// An id the vault made itself: a lowercase UUID.
    static func isGenerated(_ id: String?) -> Bool { id.flatMap(UUID.init(uuidString:)) != nil && id == id?.lowercased() }

    @Test("every response carries X-Request-ID; a trusted caller's well-formed id is kept, and error bodies quote it")
    func requestIDs() async throws {
        let capture = LogCapture()
        try await withRunningApp { app, browser in
            app.logger = Logger(label: "test", factory: { _ in capture })
            let seeded = try await seedApp(app, providers: ["sandbox"])

            let kept = try await browser.get("/v1/grants/nope", headers: [("Authorization", "Bearer \(seeded.key)"), ("X-Request-ID", "lb-7f3a.42_x")])
            #expect(kept.status == 404)
            #expect(kept.headers.first(name: "X-Request-ID") == "lb-7f3a.42_x")
            #expect((kept.json["error"] as? [String: Any])?["request_id"] as? String == "lb-7f3a.42_x")
            #expect(capture.lines.withLockedValue { $0 }.contains { $0.contains("/v1/grants/nope") && $0.contains("lb-7f3a.42_x") })

            for sent in ["has space", String(repeating: "a", count: 129), "quote\"", ""] {
                let page = try await browser.get("/healthz", headers: [("X-Request-ID", sent)])
                let id = try #require(page.headers.first(name: "X-Request-ID"))
                #expect(Self.isGenerated(id), "\(sent) → \(id)")
            }
            let pages = [try await browser.get("/healthz"), try await browser.get("/no/such/page"), try await browser.get("/connect?token=cs_nope")]
            let ids = pages.compactMap { $0.headers.first(name: "X-Request-ID") }
            #expect(ids.count == 3 && Set(ids).count == 3)
        }
    }

    @Test("an untrusted peer's X-Request-ID is replaced")
    func untrustedPeer() async throws {
        try await withRunningApp(adjust: { $0.trustedProxies = [] }) { _, browser in
            let page = try await browser.get("/healthz", headers: [("X-Request-ID", "forged-id")])
            #expect(Self.isGenerated(page.headers.first(name: "X-Request-ID")))
        }
    }

    @Test("readyz reports the database and the key ring, and 503 while migrations are pending; healthz stays up")
    func readiness() async throws {
        try await withRunningApp { app, browser in
            let ready = try await browser.get("/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["status"] as? String == "ready")
            #expect(ready.json["checks"] as? [String: String] == ["database": "ok", "key_ring": "ok"])

            let sql = try #require(app.db as? any SQLDatabase)
            try await sql.raw("DELETE FROM _fluent_migrations WHERE name = (SELECT name FROM _fluent_migrations ORDER BY batch DESC, name DESC LIMIT 1)").run()
            let pending = try await browser.get("/readyz")
            #expect(pending.status == 503)
            #expect(pending.json["status"] as? String == "not_ready")
            #expect((pending.json["checks"] as? [String: String])?["database"]?.hasPrefix("migrations pending") == true)
            let live = try await browser.get("/healthz")
            #expect(live.status == 200)
        }
    }

    @Test("GET /metrics does not exist without ALTER_METRICS_TOKEN")
    func metricsOff() async throws {
        try await withRunningApp { _, browser in
            let off = try await browser.get("/metrics")
            #expect(off.status == 404)
        }
    }

    @Test("GET /metrics needs its token and answers Prometheus text with route patterns, never ids")
    func metricsOn() async throws {
        try await withRunningApp(adjust: { $0.metricsToken = "scrape-token-0123456789" }) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let grantID = UUID().uuidString.lowercased()
            _ = try await browser.get("/v1/grants/\(grantID)", headers: [("Authorization", "Bearer \(seeded.key)")])
            let anonymous = try await browser.get("/metrics")
            let wrong = try await browser.get("/metrics", headers: [("Authorization", "Bearer scrape-token-012345678")])
            #expect(anonymous.status == 401 && wrong.status == 401)

            let scraped = try await browser.get("/metrics", headers: [("Authorization", "Bearer scrape-token-0123456789")])
            #expect(scraped.status == 200)
            #expect(scraped.headers.first(name: .contentType)?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(scraped.body.contains(#"http_requests_total{method="GET",path="/v1/grants/:grant",status="404"}"#))
            #expect(scraped.body.contains("# TYPE http_request_duration_seconds histogram"))
            #expect(scraped.body.contains("alter_webhook_queue_depth 0"))
            #expect(!scraped.body.contains(grantID))
            #expect(!scraped.body.contains(seeded.key))
        }
    }
}
