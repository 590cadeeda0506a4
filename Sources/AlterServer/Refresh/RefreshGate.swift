import Foundation

/// Coalesces refreshes within this process: while one refresh of a grant runs, every other
/// caller for that grant waits for it instead of starting its own.
actor RefreshGate {
    private var inFlight: [UUID: Task<Void, any Error>] = [:]

    func run(_ grantID: UUID, _ operation: @escaping @Sendable () async throws -> Void) async throws {
        if let running = inFlight[grantID] {
            return try await running.value
        }
        let task = Task { try await operation() }
        inFlight[grantID] = task
        defer { inFlight[grantID] = nil }
        try await task.value
    }
}
