import Fluent
import FluentKit
import Foundation
import Vapor

/// `/v1/secrets`: an app's managed secrets and their grants (`ManagedSecrets`), with its app
/// key. Values go in (create, rotate) and never come out.
struct SecretsController: RouteCollection {
    struct Rotate: Decodable {
        var value: [String: String]?
    }

    struct Hosts: Decodable {
        var allowedHosts: [String]?
        var allowPrivateNetwork: Bool?

        enum CodingKeys: String, CodingKey {
            case allowedHosts = "allowed_hosts"
            case allowPrivateNetwork = "allow_private_network"
        }
    }

    struct CreateGrant: Decodable {
        var principal: SecretPrincipalInput?
        var grantPolicy: SecretGrantPolicyInput?

        enum CodingKeys: String, CodingKey {
            case principal
            case grantPolicy = "grant_policy"
        }
    }

    struct SecretList: Content {
        var secrets: [SecretInfo]
    }

    struct GrantList: Content {
        var grants: [SecretGrantInfo]
    }

    struct TemplateList: Content {
        struct Template: Content {
            var slug: String
            var name: String
            var kind: String
            var header: String?
            var format: String?
            var queryParameter: String?
            var allowedHosts: [String]
            var fields: [String]

            enum CodingKeys: String, CodingKey {
                case slug, name, kind, header, format, fields
                case queryParameter = "query_parameter"
                case allowedHosts = "allowed_hosts"
            }
        }
        var templates: [Template]
    }

    func boot(routes: any RoutesBuilder) throws {
        let v1 = routes.grouped(AppKeyAuthenticator()).grouped("v1")
        v1.get("secret-templates", use: templates)
        let secrets = v1.grouped("secrets")
        secrets.post(use: create)
        secrets.get(use: list)
        secrets.get(":secret", use: show)
        secrets.put(":secret", "value", use: rotate)
        secrets.put(":secret", "allowed-hosts", use: setHosts)
        secrets.delete(":secret", use: delete)
        secrets.post(":secret", "grants", use: createGrant)
        secrets.get(":secret", "grants", use: grants)
        secrets.delete(":secret", "grants", ":grant", use: revokeGrant)
    }

    private func store(_ request: Request) throws -> ManagedSecrets {
        ManagedSecrets(application: request.application, db: request.db, appID: try request.authenticatedApp.app.requireID(), caller: request.alterCaller)
    }

    func templates(request: Request) async throws -> TemplateList {
        TemplateList(templates: SecretTemplate.all.map { template in
            .init(
                slug: template.slug, name: template.name, kind: template.kind.rawValue, header: template.header, format: template.format,
                queryParameter: template.queryParameter, allowedHosts: template.hosts,
                fields: (template.kind == .basic ? ["username", "password"] : ["token"]) + template.extraFields.map(\.name))
        })
    }

    func create(request: Request) async throws -> Response {
        let body = try request.content.decode(SecretDefinition.Input.self)
        let definition: SecretDefinition
        do {
            definition = try SecretDefinition(validating: body)
        } catch { throw APIError.invalidRequest(error.description) }
        let secret = try await store(request).create(definition)
        let response = Response(status: .created)
        try response.content.encode(try SecretInfo(secret))
        return response
    }

    func list(request: Request) async throws -> SecretList {
        SecretList(secrets: try await store(request).all().map(SecretInfo.init))
    }

    func show(request: Request) async throws -> SecretInfo {
        try SecretInfo(try await store(request).find(request.parameters.get("secret")))
    }

    func rotate(request: Request) async throws -> SecretInfo {
        let store = try store(request)
        let secret = try await store.find(request.parameters.get("secret"))
        try await store.rotate(secret, value: try request.content.decode(Rotate.self).value)
        return try SecretInfo(secret)
    }

    func setHosts(request: Request) async throws -> SecretInfo {
        let store = try store(request)
        let secret = try await store.find(request.parameters.get("secret"))
        let body = try request.content.decode(Hosts.self)
        try await store.setAllowedHosts(secret, body.allowedHosts, allowsPrivateNetwork: body.allowPrivateNetwork)
        return try SecretInfo(secret)
    }

    func delete(request: Request) async throws -> HTTPStatus {
        let store = try store(request)
        try await store.delete(try await store.find(request.parameters.get("secret")))
        return .noContent
    }

    func createGrant(request: Request) async throws -> Response {
        let store = try store(request)
        let secret = try await store.find(request.parameters.get("secret"))
        let body = try request.content.decode(CreateGrant.self)
        let principal = try await store.principal(body.principal, app: try request.authenticatedApp.app)
        let now = request.application.clock.now()
        let grant = try await store.grant(secret, to: principal, label: body.principal?.label, policy: try (body.grantPolicy ?? .init()).policy(now: now))
        let response = Response(status: .created)
        try response.content.encode(try SecretGrantInfo(grant, secret: secret, now: now))
        return response
    }

    func grants(request: Request) async throws -> GrantList {
        let store = try store(request)
        let secret = try await store.find(request.parameters.get("secret"))
        let now = request.application.clock.now()
        return GrantList(grants: try await store.grants(of: secret).map { try SecretGrantInfo($0, secret: secret, now: now) })
    }

    func revokeGrant(request: Request) async throws -> SecretGrantInfo {
        let store = try store(request)
        let secret = try await store.find(request.parameters.get("secret"))
        guard let id = request.parameters.get("grant").flatMap(UUID.init(uuidString:)), let (grant, owner) = try await store.grant(id: id),
            owner.id == secret.id
        else { throw ManagedSecrets.grantNotFound }
        try await store.revoke(grant, secret: secret, reason: nil)
        return try SecretGrantInfo(grant, secret: secret, now: request.application.clock.now())
    }
}
