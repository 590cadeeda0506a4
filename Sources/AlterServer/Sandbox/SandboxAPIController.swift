import Foundation
import NIOHTTP1
import Vapor

/// The "provider API" the vault's proxy calls: userinfo, a calendar, an echo of what arrived,
/// and any status code on demand (for upstream error tests).
struct SandboxAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let api = routes.grouped("api").grouped(SandboxBearerMiddleware())
        api.get("me", use: me)
        api.get("calendar", "events", use: events)
        for method in [HTTPMethod.GET, .POST, .PUT, .PATCH, .DELETE] {
            api.on(method, "echo", body: .collect(maxSize: "1mb"), use: echo)
        }
        api.on(.GET, "status", ":code", use: status)
        api.on(.POST, "status", ":code", use: status)
        // Compressed when the caller accepts gzip, as most CDNs and large APIs answer: the
        // proxy must relay such bytes untouched (security review F2).
        api.grouped(ResponseCompressionMiddleware(override: .enable)).get("export", use: export)
    }

    /// `GET /sandbox/api/export?kib=N`: a JSON document of about N KiB (1–20480), the same
    /// bytes for the same N, so a test can compare what arrives with what was sent.
    func export(request: Request) async throws -> Response {
        let kib = try request.query.get(Int?.self, at: "kib") ?? 64
        guard (1...20480).contains(kib) else { throw Abort(.badRequest, reason: "kib must be 1 to 20480.") }
        let response = Response(status: .ok, body: .init(string: Self.exportDocument(kib: kib)))
        response.headers.contentType = .json
        return response
    }

    static func exportDocument(kib: Int) -> String {
        let row = #"{"id":0000000,"title":"Quarterly planning","location":"Room 4"},"#
        var rows: [String] = []
        rows.reserveCapacity(kib * 1024 / row.utf8.count + 1)
        for index in 0..<(kib * 1024 / row.utf8.count + 1) {
            rows.append(#"{"id":"# + String(format: "%07d", index) + #","title":"Quarterly planning","location":"Room 4"}"#)
        }
        return #"{"events":["# + rows.joined(separator: ",") + "]}"
    }

    struct Me: Content {
        let id: String
        let email: String
        let name: String
    }

    func me(request: Request) async throws -> Me {
        let account = try request.sandboxAccount
        return Me(id: account.id, email: account.email, name: account.name)
    }

    struct Events: Content {
        let account: String
        let events: [SandboxCalendarEvent]
    }

    func events(request: Request) async throws -> Events {
        Events(account: try request.sandboxAccount.email, events: SandboxCalendarEvent.samples)
    }

    struct Echo: Content {
        struct Authorization: Content {
            let present: Bool
            /// The scheme only (`Bearer`), never the credentials.
            let scheme: String?
        }
        let method: String
        let path: String
        let query: String?
        /// Lower-cased names; repeated headers joined with ", " (RFC 9110 §5.3).
        let headers: [String: String]
        let authorization: Authorization
        let body: String
    }

    func echo(request: Request) async throws -> Echo {
        var headers: [String: String] = [:]
        for (name, value) in request.headers where name.lowercased() != "authorization" {
            let key = name.lowercased()
            headers[key] = headers[key].map { $0 + ", " + value } ?? value
        }
        let authorization = request.headers.first(name: .authorization)
        return Echo(
            method: request.method.rawValue,
            path: request.url.path,
            query: request.url.query,
            headers: headers,
            authorization: .init(present: authorization != nil, scheme: authorization?.split(separator: " ").first.map(String.init)),
            body: request.body.string ?? "")
    }

    func status(request: Request) async throws -> Response {
        guard let code = request.parameters.get("code", as: Int.self), (200...599).contains(code) else {
            throw Abort(.badRequest, reason: "The status must be a number from 200 to 599.")
        }
        let response = Response(status: HTTPResponseStatus(statusCode: code))
        // `?location=` for redirects, as a provider's 3xx carries one (the vault relays it; no client may follow it).
        if let location = try? request.query.get(String.self, at: "location") { response.headers.replaceOrAdd(name: .location, value: location) }
        if ![204, 304].contains(code) {
            try response.content.encode(["status": code], as: .json)
        }
        return response
    }
}
