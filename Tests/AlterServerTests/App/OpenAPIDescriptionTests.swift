@testable import AlterServer
import Foundation
import NIOFoundationCompat
import Testing
import Vapor
import VaporTesting

/// The OpenAPI description served at `/v1/openapi.json` names exactly the `/v1` routes the
/// app registers, and pairs every error code with the status `APIError.Code` gives it.
/// (Real answers are validated against it in e2e/test_openapi.py and by schemathesis.)
@Suite("OpenAPI description")
struct OpenAPIDescriptionTests {
    /// `METHOD /v1/a/{}/b`: path parameters compared by position, not by name.
    static func operation(_ method: String, _ segments: [String]) -> String {
        method.uppercased() + " /" + segments.map { $0.hasPrefix(":") || ($0.hasPrefix("{") && $0.hasSuffix("}")) ? "{}" : $0 }.joined(separator: "/")
    }

    static func served(_ app: Application) async throws -> [String: Any] {
        var document: [String: Any] = [:]
        try await app.testing().test(.GET, "/v1/openapi.json") { response in
            #expect(response.status == .ok)
            #expect(response.headers.contentType == .json)
            document = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
        }
        return document
    }

    static func describedOperations(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var operations = Set<String>()
        for (path, item) in paths {
            let segments = path.split(separator: "/").map(String.init)
            for method in item.keys where methods.contains(method) { operations.insert(operation(method, segments)) }
        }
        return operations
    }

    @Test("every /v1 route the app registers is described, and every described operation exists")
    func routesAndDescriptionAgree() async throws {
        try await withApp { app in
            let document = try await Self.served(app)
            #expect(document["openapi"] as? String == "3.1.0")
            let registered = Set(
                app.routes.all.filter { $0.path.first?.description == "v1" }
                    .map { Self.operation($0.method.rawValue, $0.path.map(\.description)) })
            let described = try Self.describedOperations(document)
            #expect(registered.subtracting(described).sorted() == [], "routes missing from Resources/openapi.json")
            #expect(described.subtracting(registered).sorted() == [], "described operations no route serves")
        }
    }

    @Test("every error response lists codes whose status is that response's status")
    func errorCodesCarryTheirStatus() async throws {
        try await withApp { app in
            let document = try await Self.served(app)
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var checked = 0
            for (path, item) in paths {
                for (method, value) in item {
                    guard let operation = value as? [String: Any], let responses = operation["responses"] as? [String: Any] else { continue }
                    for (status, response) in responses {
                        guard let code = Int(status), code >= 400 else { continue }
                        let schema = (response as? [String: Any]).flatMap { ($0["content"] as? [String: Any])?["application/json"] as? [String: Any] }?["schema"]
                        let error = ((schema as? [String: Any])?["properties"] as? [String: Any])?["error"] as? [String: Any]
                        let codes = try #require(
                            ((error?["properties"] as? [String: Any])?["code"] as? [String: Any])?["enum"] as? [String],
                            "\(method.uppercased()) \(path) \(status) lists no error codes")
                        for wire in codes {
                            let known = try #require(APIError.Code(rawValue: wire), "\(wire) is not an APIError code")
                            // invalid_request is also how Vapor's own 413/415 refusals are coded.
                            #expect(known.status.code == code || wire == "invalid_request", "\(method.uppercased()) \(path): \(wire) is \(known.status.code), described as \(code)")
                            checked += 1
                        }
                    }
                }
            }
            #expect(checked > 20)
        }
    }
}
