@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// Runs `body` with a database on one event loop while the other loop's SQLite connection
/// holds the write lock (an open transaction that has written) for `duration`. A transaction
/// of `body` that reads before it writes has its first write refused at once (SQLITE_BUSY):
/// the case `WriteTransaction` reruns.
func whileTheOtherConnectionWrites<T: Sendable>(
    _ app: Application, for duration: Duration = .milliseconds(100), _ body: @escaping @Sendable (any Database, any EventLoop) async throws -> T
) async throws -> T {
    let loops = Array(app.eventLoopGroup.makeIterator())
    try #require(loops.count >= 2, "two event loops, two SQLite connections")
    let holder = try #require(app.databases.database(logger: app.logger, on: loops[0]))
    let other = try #require(app.databases.database(logger: app.logger, on: loops[1]))
    let locked = AsyncStream<Void>.makeStream()
    async let held: Void = holder.transaction { db in
        // Any write takes the lock; this one changes nothing.
        try await ClientApp.query(on: db).filter(\.$id == UUID()).set(\.$name, to: "held").update()
        locked.continuation.yield()
        try await Task.sleep(for: duration)
    }
    for await _ in locked.stream { break }
    let value = try await body(other, loops[1])
    try await held
    return value
}
