import Foundation

/// Coalesces refreshes within this process: while one refresh of a grant runs, every other
/// caller for that grant waits for it instead of starting its own, for at most `waitLimit`.
actor RefreshGate {
    private var inFlight: [UUID: Task<Void, any Error>] = [:]

    /// Thrown to a caller that waited `waitLimit` for another caller's refresh.
    struct StillRefreshing: Error {}

    func run(_ grantID: UUID, waitLimit: TimeInterval, _ operation: @escaping @Sendable () async throws -> Void) async throws {
        if let running = inFlight[grantID] {
            let finished = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { try await running.value; return true }
                group.addTask { try await Task.sleep(for: .milliseconds(Int(waitLimit * 1000))); return false }
                defer { group.cancelAll() }
                return try await group.next() ?? false
            }
            guard finished else { throw StillRefreshing() }
            return
        }
        let task = Task { try await operation() }
        inFlight[grantID] = task
        defer { inFlight[grantID] = nil }
        try await task.value
    }
}
