import NIOConcurrencyHelpers
import Vapor

/// Counts requests being handled, and on shutdown waits (up to 10 s) until none are, before
/// the databases close. A handler whose client already went away keeps running; without
/// this it could reach for a database that no longer exists.
final class InFlightRequests: AsyncMiddleware, LifecycleHandler, Sendable {
    private let count = NIOLockedValueBox(0)

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        count.withLockedValue { $0 += 1 }
        defer { count.withLockedValue { $0 -= 1 } }
        return try await next.respond(to: request)
    }

    func shutdownAsync(_ application: Application) async {
        for _ in 0..<200 where count.withLockedValue({ $0 }) > 0 {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
