import Fluent
import FluentKit
import Foundation
import NIOFoundationCompat
import Vapor

/// `/v1/policies`: an app's policy rules, with its app key (agent keys are refused).
struct PoliciesController: RouteCollection {
    struct Create: Decodable {
        var scope: String
        var target: String?
        var kind: String
        var description: String?
    }

    struct Rule: Content {
        var id: String
        var scope: String
        var target: String?
        var kind: String
        var settings: RawJSON
        var description: String?
        var createdAt: Date?

        enum CodingKeys: String, CodingKey {
            case id, scope, target, kind, settings, description
            case createdAt = "created_at"
        }

        init(_ rule: PolicyRule) throws {
            id = try rule.requireID().lowercasedString
            scope = rule.scope.rawValue
            target = rule.target
            kind = rule.kind
            settings = RawJSON(text: rule.settings)
            description = rule.ruleDescription
            createdAt = rule.createdAt
        }
    }

    struct List: Content {
        var rules: [Rule]
    }

    func boot(routes: any RoutesBuilder) throws {
        let policies = routes.grouped(AppKeyAuthenticator()).grouped("v1", "policies")
        policies.post(use: create)
        policies.get(use: list)
        policies.get(":rule", use: show)
        policies.delete(":rule", use: delete)
    }

    private func store(_ request: Request) throws -> PolicyStore {
        PolicyStore(db: request.db, index: request.application.policyIndex, appID: try request.authenticatedApp.app.requireID())
    }

    func create(request: Request) async throws -> Response {
        let body = try request.content.decode(Create.self)
        let settings = try Self.settingsText(of: request)
        let rule = try await store(request).create(.init(scope: body.scope, target: body.target, kind: body.kind, settings: settings, description: body.description))
        let response = Response(status: .created)
        try response.content.encode(try Rule(rule))
        return response
    }

    func list(request: Request) async throws -> List {
        List(rules: try await store(request).list().map(Rule.init))
    }

    func show(request: Request) async throws -> Rule {
        try Rule(try await store(request).find(request.parameters.get("rule") ?? ""))
    }

    func delete(request: Request) async throws -> Response {
        try await store(request).delete(request.parameters.get("rule") ?? "")
        return Response(status: .noContent)
    }

    /// `settings` exactly as sent (an object; absent means `{}`), re-encoded compactly.
    static func settingsText(of request: Request) throws -> String {
        guard let buffer = request.body.data, let object = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            throw APIError.invalidRequest("The request body must be a JSON object.")
        }
        return try normalizedSettings(object["settings"])
    }

    /// A settings value as stored: a JSON object re-encoded compactly with sorted keys; absent
    /// or null is `{}`. Shared by `/v1/policies` and the portal's Policies form.
    static func normalizedSettings(_ settings: Any?) throws -> String {
        guard let settings, !(settings is NSNull) else { return "{}" }
        guard settings is [String: Any] else { throw APIError.invalidRequest("settings must be a JSON object.") }
        let data = try JSONSerialization.data(withJSONObject: settings, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// Stored JSON text written into a response as JSON (not as a string).
struct RawJSON: Codable, Sendable {
    let text: String

    init(text: String) { self.text = text }

    init(from decoder: any Decoder) throws {
        text = String(decoding: try JSONEncoder().encode(try JSONTree(from: decoder)), as: UTF8.self)
    }

    func encode(to encoder: any Encoder) throws {
        let value = (try? JSONDecoder().decode(JSONTree.self, from: Data(text.utf8))) ?? .null
        try value.encode(to: encoder)
    }
}

/// Any JSON value, to re-emit stored settings through `Codable`.
indirect enum JSONTree: Codable, Sendable {
    case null, bool(Bool), number(Double), int(Int), string(String), array([JSONTree]), object([String: JSONTree])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONTree].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONTree].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
