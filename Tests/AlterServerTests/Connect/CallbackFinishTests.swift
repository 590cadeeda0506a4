@testable import AlterServer
import Foundation
import Testing
import VaporTesting

@Suite("The callback that finishes a session answers with the finish page itself")
struct CallbackFinishTests {
    @Test("the last provider's callback renders the result page (no redirect hop) and clears the binding cookie")
    func finishPageWithoutHop() async throws {
        try await withRunningApp { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let flow = ConnectFlow(app: app, browser: browser, key: seeded.key)
            let (_, url) = try await FlowRejectionTests.callbackURL(flow)

            let page = try await browser.get(url)

            #expect(page.status == 200, "the finish page, not a 303 to the flow page")
            #expect(page.location == nil)
            let result = try #require(page.scriptData["result"] as? [String: Any])
            let grants = try #require(result["grants"] as? [[String: Any]])
            #expect(grants.map { $0["provider"] as? String } == ["sandbox"])
            let events = try #require(page.scriptData["events"] as? [[String: Any]])
            #expect(events.map { $0["name"] as? String } == ["OAUTH_COMPLETE"])
            #expect(page.scriptData["close"] as? Bool == true)
            let cleared = page.headers[.setCookie].filter { $0.hasPrefix("alter_flow_") }
            #expect(cleared.count == 1 && cleared[0].contains("Max-Age=0"), "the binding cookie is cleared: \(cleared)")
        }
    }
}
