import Fluent
import Foundation
import Vapor

/// Settles refreshes whose answer was lost (`RefreshJournal`), so that after a crash no grant
/// reads as active while its refresh token may be dead: at start, then every `interval` (an
/// instance that died on another machine may never restart; a live one settles its entries).
/// Each entry is settled under the grant's refresh lock, and skipped while someone holds it:
/// a refresh running on a live instance is not lost.
struct RefreshRecovery: LifecycleHandler {
    static let interval: Duration = .seconds(15)
    /// Entries settled per pass (each may cost one call to a provider).
    static let batch = 100

    final class Handle: @unchecked Sendable {
        var task: Task<Void, Never>?
    }
    let handle = Handle()

    func didBootAsync(_ application: Application) async throws {
        handle.task = Task {
            while !Task.isCancelled {
                await Self.pass(application)
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    func shutdownAsync(_ application: Application) async {
        handle.task?.cancel()
        await handle.task?.value
    }

    /// One pass over the open entries; failures are logged and retried on the next pass.
    static func pass(_ application: Application) async {
        do {
            for grantID in try await RefreshJournal.open(limit: batch, on: application.db) where !Task.isCancelled {
                do {
                    _ = try await RefreshCoordinator.settleLostRefresh(grantID, application: application)
                } catch {
                    application.logger.warning("settling an interrupted refresh failed", metadata: ["type": "\(type(of: error))"])
                }
            }
        } catch {
            application.logger.warning("reading the refresh journal failed", metadata: ["type": "\(type(of: error))"])
        }
    }
}
