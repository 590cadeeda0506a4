@testable import AlterServer
import Foundation
import Testing
import VaporTesting

@Suite("The waiting page the widget's popup opens on while the app's token is on its way")
struct WaitingPageTests {
    @Test("GET /connect/wait says Connecting…, runs no script, sets no cookie and is not cached")
    func waitingPage() async throws {
        try await withRunningApp { app, browser in
            let page = try await browser.get("/connect/wait")

            #expect(page.status == 200)
            #expect(page.body.contains("Connecting…"))
            #expect(!page.body.contains("<script"))
            #expect(page.headers.first(name: .setCookie) == nil)
            #expect(page.headers.first(name: .cacheControl) == "no-store")
            #expect(page.headers.first(name: "Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
            // No Cross-Origin-Opener-Policy: the widget keeps its handle on the popup to navigate it.
            #expect(page.headers.first(name: "Cross-Origin-Opener-Policy") == nil)
        }
    }
}
