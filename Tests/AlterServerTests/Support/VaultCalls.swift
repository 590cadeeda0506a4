@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor

/// Calls the vault API as an app backend does, over real HTTP.
struct VaultCalls {
    let browser: TestBrowser
    let key: String

    func proxy(_ body: [String: any Sendable], caller: String? = nil) async throws -> TestBrowser.Page {
        var headers = [("Authorization", "Bearer \(key)")]
        if let caller { headers.append(("Alter-Caller", caller)) }
        return try await browser.postJSON("/v1/request", body, headers: headers)
    }

    func get(_ path: String) async throws -> TestBrowser.Page {
        try await browser.get(path, headers: [("Authorization", "Bearer \(key)")])
    }

    func send(_ method: HTTPMethod, _ path: String) async throws -> TestBrowser.Page {
        try await browser.send(method, path, headers: [("Authorization", "Bearer \(key)")], body: nil)
    }

    func sandbox() async throws -> [String: Any] {
        try await browser.get("/sandbox/control").json
    }

    func control(_ switches: [String: any Sendable]) async throws {
        _ = try await browser.postJSON("/sandbox/control", switches)
    }

    var calendarURL: String { browser.baseURL + "/sandbox/api/calendar/events" }
}

extension ConnectFlow {
    /// Connects the sandbox through the real flow and returns the new grant's id.
    func connectGrant(_ body: [String: any Sendable] = ["allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"], account: String? = nil) async throws -> String {
        let grants = try ConnectFlowTests.grants(of: try await connect(body, account: account).page)
        return try #require(grants.first?["grant_id"] as? String)
    }
}
