@testable import AlterServer
import AlterVault
import Foundation
import Testing

/// The SDK against providers that compress or redirect (security review F2, F9).
@Suite("The SDK reads compressed answers and follows no redirects")
struct ProxyBytesTests {
    @Test("a gzip answer inflating past 1 MiB reads as its JSON, without a stale Content-Encoding")
    func gzip() async throws {
        try await withConnectedGrant { vault, grantID in
            let response = try await vault.sdk().request(
                .GET, vault.baseURL + "/sandbox/api/export?kib=3072", grantID: grantID, headers: ["Accept-Encoding": "gzip"])

            #expect(response.status == 200)
            // Compared outside #expect: a failing expectation would diff two 3 MiB values.
            let whole = response.body == Data(SandboxAPIController.exportDocument(kib: 3072).utf8)
            #expect(whole, "\(response.body.count) bytes arrived")
            #expect(response.header("Content-Encoding") == nil)
        }
    }

    @Test("a provider's redirect to a vault path reaches the app as the 3xx, not as the vault's answer", arguments: [303, 307, 302])
    func redirectsAreNotFollowed(status: Int) async throws {
        try await withConnectedGrant { vault, grantID in
            let response = try await vault.sdk().request(
                .GET, vault.baseURL + "/sandbox/api/status/\(status)?location=/v1/grants", grantID: grantID)

            #expect(response.status == status)
            #expect(response.header("Location") == "/v1/grants")
            #expect(!response.text.contains("grant_id"))
        }
    }
}
