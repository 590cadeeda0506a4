import Foundation
import Vapor

/// The page that ends a flow: in a popup it posts the result to the opener (exact origin,
/// with the nonce) and closes; in redirect mode, or opened without the widget, it goes to
/// `return_url` with only a status marker, or says the user can close the tab.
enum FinishPage {
    static func render(
        session: ConnectSession, grants: [GrantPayload], error: APIErrorBody.Payload?, events: [HostedPage.Script.Event] = [],
        nonce: String?, mode: ConnectSession.Mode?, request: Request
    ) -> Response {
        let page = HostedPage()
        var script = HostedPage.Script(nonce: nonce, origin: session.origin, events: events)
        script.result = HostedPage.Result(grants: error == nil ? grants : nil, error: error)
        let isHTTPS = request.application.alterConfiguration.isHTTPS
        let popup = mode == .popup && nonce != nil
        if !popup, let returnURL = session.returnURL {
            script.next = returnURL + (returnURL.contains("?") ? "&" : "?") + "alter_connect=" + (error == nil ? "complete" : "error")
            if let hash = returnURL.firstIndex(of: "#") {
                // Keep a fragment at the end, where browsers expect it.
                let base = String(returnURL[..<hash])
                script.next = base + (base.contains("?") ? "&" : "?") + "alter_connect=" + (error == nil ? "complete" : "error") + String(returnURL[hash...])
            }
        }
        script.close = popup
        let body: String
        if let error {
            body = error.code == APIError.Code.oauthProviderError.rawValue
                ? ConnectPages.providerError(error.details ?? [:])
                : ConnectPages.message(title(for: error.code), error.message, code: error.code)
        } else {
            let names = grants.map(\.providerName).joined(separator: ", ")
            body = ConnectPages.message("Connected", "\(names) \(grants.count == 1 ? "is" : "are") now connected. You can close this window.")
        }
        return page.response(title: error == nil ? "Connected" : "Not connected", body: body, script: script, isHTTPS: isHTTPS)
    }

    static func title(for code: String) -> String {
        switch code {
        case APIError.Code.oauthDenied.rawValue: "Access was not granted"
        case APIError.Code.sessionExpired.rawValue: "This link has expired"
        default: "Something went wrong"
        }
    }
}
