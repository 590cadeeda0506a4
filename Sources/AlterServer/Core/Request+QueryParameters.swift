import Foundation
import Vapor

extension Request {
    /// Refuses a query parameter the endpoint does not take: a misspelt filter
    /// (`?provder=google`) must not silently widen a listing to everything.
    func refuseUnknownQueryParameters(_ accepted: Set<String>) throws {
        guard let query = url.query, !query.isEmpty else { return }
        for pair in query.split(separator: "&") {
            let raw = String(pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            let name = raw.removingPercentEncoding ?? raw
            guard accepted.contains(name) else {
                throw APIError.invalidRequest("Unknown query parameter; this endpoint takes \(accepted.sorted().joined(separator: ", ")).")
            }
        }
    }
}
