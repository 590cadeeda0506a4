import Fluent
import Vapor

/// Logs each request with secrets removed from the query string (`token`, `code`, `state`…),
/// and replaces Vapor's default request logger, which prints the raw URL. (Future-based: see
/// `RequestIDMiddleware`.)
struct RequestRedactionMiddleware: Middleware {
    static let secretParameters: Set<String> = ["token", "code", "state", "nonce", "api_key", "key", "access_token", "refresh_token", "client_secret"]

    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        next.respond(to: request).map { response in
            request.logger.info("\(request.method) \(Self.redactedPath(request.url)) -> \(response.status.code)")
            return response
        }
    }

    static func redactedPath(_ url: URI) -> String {
        guard let query = url.query, !query.isEmpty else { return url.path }
        let parts = query.split(separator: "&").map { pair -> String in
            let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return isSecret(name) ? "\(name)=[redacted]" : String(pair)
        }
        return url.path + "?" + parts.joined(separator: "&")
    }

    /// Matches the name the handler will see: Vapor's form decoder turns `+` into a space and
    /// percent-decodes, so `%74oken` is `token` there and must be here (security review F15).
    /// A name that does not decode cleanly is redacted too.
    static func isSecret(_ rawName: String) -> Bool {
        guard let decoded = rawName.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else { return true }
        return secretParameters.contains(decoded.trimmingCharacters(in: .whitespaces).lowercased())
    }
}
