import NIOConcurrencyHelpers
import Vapor

/// Counts requests being handled, and on shutdown waits (up to 10 s) until none are, before
/// the databases close. A handler whose client already went away keeps running; without
/// this it could reach for a database that no longer exists.
/// (Future-based: see `RequestIDMiddleware`.)
final class InFlightRequests: Middleware, LifecycleHandler, Sendable {
    private let count = NIOLockedValueBox(0)

    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        count.withLockedValue { $0 += 1 }
        return next.respond(to: request).always { [count] _ in count.withLockedValue { $0 -= 1 } }
    }

    func shutdownAsync(_ application: Application) async {
        for _ in 0..<200 where count.withLockedValue({ $0 }) > 0 {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
