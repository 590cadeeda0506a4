import Fluent
import FluentKit
import Foundation

/// Writing and reading one app's rules, for `/v1/policies` and `alter policies`: a rule is
/// checked in full before it is stored (nothing is stored on any error), and the instance's
/// `PolicyIndex` forgets the app's rules after every change.
struct PolicyStore {
    let db: any Database
    let index: PolicyIndex
    let appID: UUID

    struct Draft {
        var scope: String
        var target: String?
        var kind: String
        /// The settings object as JSON text.
        var settings: String
        var description: String?
    }

    static let maxRulesPerApp = 500

    func create(_ draft: Draft) async throws -> PolicyRule {
        guard let scope = PolicyRule.Scope(rawValue: draft.scope) else {
            throw APIError.invalidRequest("scope must be one of \(PolicyRule.Scope.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let target = try await checkedTarget(draft.target, scope: scope)
        do {
            _ = try PolicyCondition(kind: draft.kind, settings: draft.settings)
        } catch {
            throw APIError.invalidRequest(error.description)
        }
        if let description = draft.description, description.count > 500 { throw APIError.invalidRequest("description may be at most 500 characters.") }
        guard try await PolicyRule.query(on: db).filter(\.$app.$id == appID).count() < Self.maxRulesPerApp else {
            throw APIError.invalidRequest("An app may have at most \(Self.maxRulesPerApp) policy rules.")
        }
        let rule = PolicyRule(appID: appID, scope: scope, target: target, kind: draft.kind, settings: draft.settings, description: draft.description)
        try await rule.create(on: db)
        index.forget(appID)
        return rule
    }

    func list() async throws -> [PolicyRule] {
        try await PolicyRule.query(on: db).filter(\.$app.$id == appID).sort(\.$createdAt).sort(\.$id).all()
    }

    func find(_ raw: String) async throws -> PolicyRule {
        guard let id = UUID(text: raw), let rule = try await PolicyRule.query(on: db).filter(\.$id == id).filter(\.$app.$id == appID).first() else {
            throw APIError(.policyNotFound, "No policy rule \(raw.prefix(40)) in this app.")
        }
        return rule
    }

    func delete(_ raw: String) async throws {
        let rule = try await find(raw)
        try await rule.delete(on: db)
        index.forget(appID)
    }

    /// The target a scope needs: none for the app; a provider id or managed-secret slug; one of
    /// the app's agents or grants by id (stored lower-case, as `PolicyCheck.covers` compares).
    private func checkedTarget(_ target: String?, scope: PolicyRule.Scope) async throws -> String? {
        switch scope {
        case .app:
            guard target == nil else { throw APIError.invalidRequest("An app-wide rule takes no target.") }
            return nil
        case .provider:
            guard let target, !target.isEmpty, target.count <= 100, target.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw APIError.invalidRequest("A provider rule's target is a provider id or managed-secret slug (letters, digits, - _ .).")
            }
            return target
        case .agent:
            guard let id = target.flatMap(UUID.init(uuidString:)), try await Agent.query(on: db).filter(\.$id == id).filter(\.$app.$id == appID).first() != nil else {
                throw APIError(.agentNotFound, "An agent rule's target is the id of one of this app's agents.")
            }
            return id.lowercasedString
        case .grant:
            guard let id = target.flatMap(UUID.init(uuidString:)) else { throw APIError(.grantNotFound, "A grant rule's target is a grant id.") }
            let oauth = try await Grant.query(on: db).filter(\.$id == id).filter(\.$app.$id == appID).count()
            let secret = try await SecretGrant.query(on: db).filter(\.$id == id).filter(\.$app.$id == appID).count()
            guard oauth + secret > 0 else { throw APIError(.grantNotFound, "No grant \(id.lowercasedString) in this app.") }
            return id.lowercasedString
        }
    }
}
