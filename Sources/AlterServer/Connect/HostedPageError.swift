import Vapor

/// A dead end in the hosted UI, rendered as a page (not JSON) by `ConnectUIController`'s routes.
struct HostedPageError: Error {
    let title: String
    let text: String
}

/// Renders `HostedPageError` as an HTML page with the hosted-page headers.
struct HostedPageErrorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch let error as HostedPageError {
            return ConnectUIController.errorPage(request, error.title, error.text, status: .badRequest)
        }
    }
}
