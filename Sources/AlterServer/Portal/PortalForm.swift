import Fluent
import Foundation
import Vapor

/// Where portal pages live.
enum PortalPaths {
    static let root = "/portal"
    static func app(_ id: UUID) -> String { "/portal/apps/\(id.lowercasedString)" }
}

/// Form plumbing: the CSRF field, the checks every POST passes, and small field helpers.
enum PortalForm {
    static func csrfField(_ signedIn: SignedInOperator) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(signedIn.csrfToken))\">"
    }

    /// A form posted from another site is refused, whatever it carries: the browser's
    /// `Origin` (and `Sec-Fetch-Site`) must name this vault. Together with the CSRF token
    /// (a page of another origin cannot read it) and SameSite=Strict cookies.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers.first(name: "Sec-Fetch-Site"), !["same-origin", "none"].contains(site) { return false }
        guard let origin = request.headers.first(name: .origin) else { return true }
        return origin == publicOrigin(request.application.alterConfiguration.publicURL)
    }

    static func publicOrigin(_ publicURL: String) -> String {
        guard let components = URLComponents(string: publicURL), let scheme = components.scheme, let host = components.host else { return publicURL }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }

    /// Constant-time comparison of two tokens.
    static func tokensMatch(_ a: String?, _ b: String) -> Bool {
        guard let a, a.utf8.count == b.utf8.count, !b.isEmpty else { return false }
        return zip(a.utf8, b.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func field(_ request: Request, _ name: String) -> String {
        (try? request.content.get(String.self, at: name)) ?? ""
    }

    static func optionalField(_ request: Request, _ name: String) -> String? {
        let value = field(request, name).trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }

    static func checkbox(_ request: Request, _ name: String) -> Bool {
        ["on", "true", "1"].contains(field(request, name))
    }

    static func error(_ message: String) -> String {
        "<p class=\"error\" role=\"alert\">\(HTML.escape(message))</p>"
    }

    /// A value shown once (a key, a signing secret), selectable, with a copy button that
    /// appears when script runs.
    static func shownOnce(_ value: String, id: String, label: String) -> String {
        "<label for=\"\(id)\">\(HTML.escape(label))</label><input id=\"\(id)\" class=\"secret\" readonly value=\"\(HTML.escape(value))\">"
            + "<button type=\"button\" class=\"secondary\" data-copy=\"\(id)\" hidden>Copy</button>"
    }

    static func redirect(_ path: String, done: String? = nil) -> Response {
        let response = Response(status: .seeOther)
        response.headers.replaceOrAdd(name: .location, value: path + (done.map { (path.contains("?") ? "&" : "?") + "done=" + $0 } ?? ""))
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        return response
    }

    static func date(_ date: Date?) -> String {
        guard let date else { return "—" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return "<time datetime=\"\(formatter.string(from: date))\">\(formatter.string(from: date).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC"))</time>"
    }
}

/// The gate of every signed-in portal route: without a session, to the sign-in page (with the
/// page to come back to); a POST must come from this origin and carry the session's CSRF token.
struct PortalGuard: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let signedIn = request.signedInOperator else {
            let back = request.method == .GET ? request.url.path + (request.url.query.map { "?" + $0 } ?? "") : PortalPaths.root
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "next", value: back)]
            let hadSession = request.cookies[OperatorSessions.cookieName] != nil
            return PortalForm.redirect("/portal/login" + (components.percentEncodedQuery.map { "?" + $0 } ?? ""), done: hadSession ? "expired" : nil)
        }
        if request.method == .POST {
            guard PortalForm.isSameOrigin(request), PortalForm.tokensMatch(try? request.content.get(String.self, at: "csrf"), signedIn.csrfToken) else {
                return PortalPage().response(
                    request, title: "This form was refused",
                    body: "<p>It came from another site, or the page was older than your session. Nothing was changed.</p><p><a href=\"/portal\">Back to the portal</a></p>",
                    status: .forbidden)
            }
        }
        return try await next.respond(to: request)
    }
}

/// Errors of portal routes as pages: an `APIError` with its message and status, anything
/// else as a generic 500 page (no internal detail).
struct PortalErrorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch let error as APIError {
            return PortalPage().response(request, title: "That did not work", body: PortalForm.error(error.message) + "<p><a href=\"/portal\">Back to the portal</a></p>", status: error.status)
        } catch let error as any AbortError {
            return PortalPage().response(request, title: "That did not work", body: PortalForm.error(error.reason), status: error.status)
        } catch {
            request.logger.error("portal page failed", metadata: ["type": "\(type(of: error))"])
            return PortalPage().response(request, title: "Something went wrong", body: "<p>The page could not be shown. Nothing secret was logged; see the server log for the request id.</p>", status: .internalServerError)
        }
    }
}
