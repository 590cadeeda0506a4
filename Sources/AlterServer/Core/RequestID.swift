import Foundation
import Logging
import Vapor

/// Every request's id: sent back as `X-Request-ID` on every response, put on every log line
/// of the request (`request-id`, Vapor's own metadata key, overwritten: Vapor copies the
/// header unchecked) and into error bodies, so a person can quote it and an operator find
/// the lines.
///
/// A caller's `X-Request-ID` is kept only when it is well-formed and the caller is trusted
/// (`ALTER_TRUSTED_PROXIES`: the load balancer or gateway that stamped it); anyone else
/// could otherwise make their requests' log lines look like someone else's.
///
/// The global middlewares are future-based, not `AsyncMiddleware`: each async middleware
/// starts a task of its own per request, and four of them were 13% of a proxied call's CPU in
/// thread hops (issue 14). None of them awaits anything.
struct RequestIDMiddleware: Middleware {
    static let header = "X-Request-ID"
    /// IP addresses whose `X-Request-ID` is kept.
    let trustedPeers: Set<String>

    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        let id = Self.chosenID(sent: request.headers.first(name: Self.header), peer: request.remoteAddress?.ipAddress, trusted: trustedPeers)
        request.storage[RequestIDKey.self] = id
        request.logger[metadataKey: "request-id"] = .string(id)
        return next.respond(to: request).map { response in
            response.headers.replaceOrAdd(name: Self.header, value: id)
            return response
        }
    }

    /// The caller's id when it is well-formed and sent by a trusted peer, else a new one. The
    /// peer's address is formatted only for a request that sent an id (issue 14: formatting
    /// it was half a percent of every proxied call's CPU).
    static func chosenID(sent: String?, peer: @autoclosure () -> String?, trusted: Set<String>) -> String {
        if let sent, !trusted.isEmpty, isWellFormed(sent), let peer = peer(), trusted.contains(peer) { return sent }
        return UUID.randomV4().lowercasedString
    }

    /// 1–128 characters of letters, digits, `.`, `_` and `-`: safe in a log line and a header.
    static func isWellFormed(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }
}

enum RequestIDKey: StorageKey {
    typealias Value = String
}

extension Request {
    /// This request's id (`RequestIDMiddleware`); a fresh one for a request that bypassed it.
    var requestID: String {
        if let id = storage[RequestIDKey.self] { return id }
        let id = UUID.randomV4().lowercasedString
        storage[RequestIDKey.self] = id
        return id
    }
}
