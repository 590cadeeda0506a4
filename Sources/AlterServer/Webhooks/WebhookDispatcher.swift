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
///
/// Apps are delivered to independently (security review F8): each app's due events go out
/// one after another, in order, on a task of their own, and an app whose delivery is still
/// running is skipped by later passes. One app's slow or silent receiver therefore delays
/// only that app's events, by at most `timeout` per event; the receiver's body is never read.
struct WebhookDispatcher {
    static let maxAttempts = 12
    static let claimLease: TimeInterval = 60
    /// The whole delivery, from connect to the response head.
    static let timeout: TimeAmount = .seconds(10)

    let application: Application
    /// Apps with a delivery running in this process (shared by the loop's passes).
    var busy = BusyApps()

    /// The apps with a delivery in flight, so a pass skips them instead of sending twice.
    actor BusyApps {
        private var apps: Set<UUID> = []
        func claim(_ app: UUID) -> Bool { apps.insert(app).inserted }
        func release(_ app: UUID) { apps.remove(app) }
    }

    /// Seconds to wait before attempt `n + 1`: 5 s, 10 s, 20 s … capped at one hour.
    static func backoff(afterAttempt attempts: Int) -> TimeInterval {
        min(5 * pow(2, Double(max(attempts - 1, 0))), 3600)
    }

    /// One pass over due events: every app not already being delivered to gets its own
    /// task, and the pass waits for them. Returns how many were delivered.
    @discardableResult
    func deliverDue(limit: Int = 50) async throws -> Int {
        let db = application.db
        let now = application.clock.now()
        let due = try await WebhookOutbox.query(on: db).filter(\.$deliveredAt == nil).filter(\.$nextAttemptAt <= now)
            .sort(\.$createdAt).limit(limit).all()
        let byApp = Dictionary(grouping: due, by: { $0.$app.id })
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for (app, events) in byApp where await busy.claim(app) {
                group.addTask {
                    do {
                        let delivered = try await deliverInOrder(events, now: now)
                        await busy.release(app)
                        return delivered
                    } catch {
                        await busy.release(app)
                        throw error
                    }
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// One app's events, oldest first; each is claimed just before it is sent.
    private func deliverInOrder(_ events: [WebhookOutbox], now: Date) async throws -> Int {
        var delivered = 0
        for event in events where try await claim(event, now: now) {
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
            request.headers.add(name: "Alter-Event-Id", value: try event.requireID().lowercasedString)
            request.headers.add(name: "Alter-Event-Type", value: event.type.rawValue)
            request.headers.add(name: "Alter-Signature", value: WebhookSignature.header(body: event.payload, secret: secret, at: now))
            request.body = .bytes(ByteBuffer(string: event.payload))
            do {
                // The status is the receiver's whole answer: its body is dropped unread.
                // A receiver on loopback only when the URL names loopback itself (local development).
                let rule = AddressRule.configuredURL(host: URLComponents(string: url)?.host ?? "")
                let status = try await application.providerHTTP.execute(request, rule: rule, deadline: .now() + Self.timeout).status
                if !(200..<300).contains(Int(status.code)) { failure = "HTTP \(status.code)" }
            } catch let refusal as OutboundRefusal where refusal.reason == .addressNotAllowed {
                failure = "address not allowed"
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
            // Passes overlap: a pass still waiting on one app's receiver does not hold up the
            // next second's pass for the others (the busy set keeps each app to one delivery).
            await withDiscardingTaskGroup { passes in
                while !Task.isCancelled {
                    passes.addTask {
                        do {
                            try await dispatcher.deliverDue()
                        } catch {
                            application.logger.warning("webhook delivery pass failed", metadata: ["type": "\(type(of: error))"])
                        }
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
                passes.cancelAll()
            }
        }
    }

    func shutdownAsync(_ application: Application) async {
        handle.task?.cancel()
        await handle.task?.value
    }
}
