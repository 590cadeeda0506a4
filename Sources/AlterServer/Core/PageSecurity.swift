import Fluent
import Vapor

/// The headers of every server-rendered page (hosted Connect pages, the portal): a CSP that
/// allows only the page's own nonce-carrying inline script and style and `data:` images, no
/// framing, no referrer, no caching.
enum PageSecurity {
    static func apply(to response: Response, nonce: String, isHTTPS: Bool) {
        response.headers.contentType = .html
        response.headers.replaceOrAdd(
            name: "Content-Security-Policy",
            value: "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        response.headers.replaceOrAdd(name: "X-Frame-Options", value: "DENY")
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        if isHTTPS { response.headers.replaceOrAdd(name: "Strict-Transport-Security", value: "max-age=31536000") }
    }
}
