import Crypto
import Fluent
import FluentKit
import Foundation
import Vapor

/// `GET /metrics`: Prometheus text format, on the public listener but only with
/// `Authorization: Bearer <ALTER_METRICS_TOKEN>` (docs/operations.md says why); without a
/// configured token the route does not exist (404).
struct MetricsController: RouteCollection {
    let token: String

    func boot(routes: any RoutesBuilder) throws {
        routes.get("metrics", use: scrape)
    }

    func scrape(request: Request) async throws -> Response {
        guard let sent = request.headers.bearerAuthorization?.token,
            // Digests compare in constant time; the lengths need not match.
            SHA256.hash(data: Data(sent.utf8)) == SHA256.hash(data: Data(token.utf8))
        else {
            throw APIError.unauthorized("Send `Authorization: Bearer <ALTER_METRICS_TOKEN>`.")
        }
        // Read at scrape time: the outbox is the queue, shared by every instance.
        let queued = try await WebhookOutbox.query(on: request.db).filter(\.$deliveredAt == nil)
            .filter(\.$nextAttemptAt < Date.distantFuture).count()
        AlterMetrics.webhookQueueDepth(queued)
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .contentType, value: "text/plain; version=0.0.4; charset=utf-8")
        headers.cacheControl = .init(noStore: true)
        return Response(status: .ok, headers: headers, body: .init(string: AlterMetrics.exposition()))
    }
}
