import Vapor

/// A dead end in the hosted UI, rendered as a page (not JSON) by `ConnectUIController`'s routes,
/// with a 4xx status that says what happened: 400 malformed, 403 another browser or a provider
/// outside the session, 404 unknown, 409 not available now, 410 used or expired.
struct HostedPageError: Error {
    let title: String
    let text: String
    var status: HTTPResponseStatus = .badRequest
}

/// Renders `HostedPageError` as an HTML page with the hosted-page headers, and any other
/// error (a database down) as a 500 page: a person in a popup never sees raw JSON.
struct HostedPageErrorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch let error as HostedPageError {
            return ConnectUIController.errorPage(request, error.title, error.text, status: error.status)
        } catch {
            // Log the type only: error descriptions from drivers can carry bound values.
            request.logger.error("hosted page failed", metadata: ["type": "\(type(of: error))"])
            return ConnectUIController.errorPage(
                request, "Something went wrong", "Close this window and try again from the app.", status: .internalServerError)
        }
    }
}
