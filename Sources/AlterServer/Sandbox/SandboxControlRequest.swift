import Foundation
import NIOHTTP1

/// Who may flip the sandbox's switches: scripts and tests (no `Origin`, JSON body), and
/// pages of the sandbox's own origin. A form post from any web page would otherwise reach
/// a developer's local demo (a simple request needs no CORS preflight), so the body must be
/// JSON, and a browser request must come from the same origin (`Origin`, `Sec-Fetch-Site`).
/// Pure, so each rule has a table test.
struct SandboxControlRequest: Sendable, Equatable {
    let contentType: String?
    let origin: String?
    let fetchSite: String?
    /// `scheme://host[:port]` of the server.
    let ownOrigin: String

    struct Refusal: Equatable {
        let status: HTTPResponseStatus
        let message: String
    }

    var refusal: Refusal? {
        let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            return Refusal(status: .unsupportedMediaType, message: "The body must be JSON (Content-Type: application/json).")
        }
        if let origin, origin != ownOrigin {
            return Refusal(status: .forbidden, message: "The sandbox switches only take requests from \(ownOrigin) or from scripts.")
        }
        // Fetch Metadata: `none` is a user-typed navigation, `same-origin` the sandbox's own page.
        if let fetchSite, !["same-origin", "none"].contains(fetchSite.lowercased()) {
            return Refusal(status: .forbidden, message: "The sandbox switches only take requests from \(ownOrigin) or from scripts.")
        }
        return nil
    }
}
