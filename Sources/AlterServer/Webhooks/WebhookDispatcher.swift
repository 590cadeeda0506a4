import AsyncHTTPClient
import Fluent
import FluentKit
import Foundation
import NIOCore
import SQLKit
import Vapor

/// Delivers queued webhook events: oldest first, signed, with exponential backoff. Each
/// event is claimed by moving its next attempt forward in one conditional UPDATE, so two
/// server instances never send the same attempt; an event is retried until it is accepted
/// (at-least-once), or given up after `maxAttempts`.
struct WebhookDispatcher {
    static let maxAttempts = 12
    static let claimLease: TimeInterval = 60

    let application: Application

    /// Seconds to wait before attempt `n + 1`: 5 s, 10 s, 20 s … capped at one hour.
    static func backoff(afterAttempt attempts: Int) -> TimeInterval {
        min(5 * pow(2, Double(max(attempts - 1, 0))), 3600)
    }

    /// One pass over due events (claimed by pushing their next attempt a lease ahead, only
    /// if nobody else did first). Returns how many were delivered.
    @discardableResult
    func deliverDue(limit: Int = 50) async throws -> Int {
        let db = application.db
        let now = application.clock.now()
        let due = try await WebhookOutbox.query(on: db).filter(\.$deliveredAt == nil).filter(\.$nextAttemptAt <= now)
            .sort(\.$createdAt).limit(limit).all()
        var delivered = 0
        for event in due where try await claim(event, now: now) {
            if try await deliver(event, now: now) { delivered += 1 }
        }
        return delivered
    }

    private func claim(_ event: WebhookOutbox, now: Date) async throws -> Bool {
        try await ClaimOnce.claim(WebhookOutbox.schema, id: event.requireID(), on: application.db) {
            $0.set("next_attempt_at", to: now.addingTimeInterval(Self.claimLease)).where("attempts", .equal, event.attempts)
                .where("next_attempt_at", .lessThanOrEqual, now).where("delivered_at", .is, SQLLiteral.null)
        }
    }

    private func deliver(_ event: WebhookOutbox, now: Date) async throws -> Bool {
        let db = application.db
        var failure: String?
        if let app = try await ClientApp.find(event.$app.id, on: db), let url = app.webhookURL, let secret = try app.webhookSecret(using: application.sealer) {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "alter-vault-webhooks")
            request.headers.add(name: "Alter-Event-Id", value: try event.requireID().uuidString.lowercased())
            request.headers.add(name: "Alter-Event-Type", value: event.type.rawValue)
            request.headers.add(name: "Alter-Signature", value: WebhookSignature.header(body: event.payload, secret: secret, at: now))
            request.body = .bytes(ByteBuffer(string: event.payload))
            do {
                let response = try await application.providerHTTP.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if !(200..<300).contains(Int(response.status.code)) { failure = "HTTP \(response.status.code)" }
            } catch {
                failure = "unreachable"
            }
        } else {
            failure = "no webhook configured"
        }
        event.attempts += 1
        if let failure {
            event.lastError = failure
            event.nextAttemptAt = event.attempts >= Self.maxAttempts ? .distantFuture : now.addingTimeInterval(Self.backoff(afterAttempt: event.attempts))
        } else {
            event.deliveredAt = now
            event.lastError = nil
        }
        try await event.update(on: db)
        AlterMetrics.webhookDelivery(failure == nil ? .delivered : event.attempts >= Self.maxAttempts ? .abandoned : .failed)
        return failure == nil
    }
}

/// Runs `WebhookDispatcher` every second while the server runs (`serve`, `demo`).
struct WebhookDeliveryLoop: LifecycleHandler {
    final class Handle: @unchecked Sendable {
        var task: Task<Void, Never>?
    }
    let handle = Handle()

    func didBootAsync(_ application: Application) async throws {
        let dispatcher = WebhookDispatcher(application: application)
        handle.task = Task {
            while !Task.isCancelled {
                do {
                    try await dispatcher.deliverDue()
                } catch {
                    application.logger.warning("webhook delivery pass failed", metadata: ["type": "\(type(of: error))"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func shutdownAsync(_ application: Application) async {
        handle.task?.cancel()
        await handle.task?.value
    }
}
