@testable import AlterServer
import Foundation
import Testing
import Vapor

/// A stand-in service API inside the test app: answers with the headers and query it got,
/// and remembers every call, so a test can prove what was injected — or that nothing came.
actor EchoRecorder {
    struct Call: Sendable {
        let headers: [String: String]
        let query: [String: String]
    }

    private(set) var calls: [Call] = []

    func record(_ call: Call) { calls.append(call) }

    /// Mounts `GET|POST /echo-service/...` on `app`.
    nonisolated func mount(on app: Application) {
        let handler: @Sendable (Request) async throws -> Response = { request in
            var headers: [String: String] = [:]
            for (name, value) in request.headers { headers[name.lowercased()] = value }
            var query: [String: String] = [:]
            for item in URLComponents(string: request.url.string)?.queryItems ?? [] { query[item.name] = item.value ?? "" }
            await self.record(Call(headers: headers, query: query))
            let data = try JSONSerialization.data(withJSONObject: ["headers": headers, "query": query])
            return Response(status: .ok, headers: ["Content-Type": "application/json"], body: .init(data: data))
        }
        app.on(.GET, "echo-service", "**", use: handler)
        app.on(.POST, "echo-service", "**", use: handler)
    }
}

/// The app backend's calls to `/v1/secrets` and `/v1/request`, with its key.
struct SecretCalls {
    let browser: TestBrowser
    let key: String

    var auth: [(String, String)] { [("Authorization", "Bearer \(key)")] }
    /// The echo service's origin as a secret's allowed host (loopback: needs allow_private_network).
    var echoOrigin: String { browser.baseURL }

    func create(_ body: [String: any Sendable]) async throws -> TestBrowser.Page {
        try await browser.postJSON("/v1/secrets", body, headers: auth)
    }

    /// A secret on the echo service, granted to the app itself; returns (secret id, grant id).
    func echoSecret(_ body: [String: any Sendable]) async throws -> (String, String) {
        var body = body
        body["allowed_hosts"] = body["allowed_hosts"] ?? [echoOrigin]
        body["allow_private_network"] = true
        let created = try await create(body)
        try #require(created.status == 201, "\(created.body)")
        let id = try #require(created.json["id"] as? String)
        let grant = try await browser.postJSON("/v1/secrets/\(id)/grants", ["principal": ["type": "system"]], headers: auth)
        try #require(grant.status == 201, "\(grant.body)")
        return (id, try #require(grant.json["grant_id"] as? String))
    }

    func call(_ grantID: String, path: String = "/echo-service/v1/things", extra: [String: any Sendable] = [:]) async throws -> TestBrowser.Page {
        var body: [String: any Sendable] = ["method": "GET", "url": browser.baseURL + path, "grant_id": grantID]
        body.merge(extra) { $1 }
        return try await browser.postJSON("/v1/request", body, headers: auth)
    }

    func put(_ path: String, _ body: [String: any Sendable]) async throws -> TestBrowser.Page {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await browser.send(.PUT, path, headers: auth + [("Content-Type", "application/json")], body: String(decoding: data, as: UTF8.self))
    }
}

extension TestBrowser.Page {
    /// `error.code` / `error.message` of a `/v1` error answer.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
}
