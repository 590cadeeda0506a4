import Fluent
import FluentKit
import Foundation
import Vapor

/// Who is calling `/v1` or `/sdk`, after the key and the caller header are checked: the
/// app itself, one of its agents by the agent's own key, or the app acting as one of its
/// agents (the official SDK's `app.get_agent(id)`: the app key with `X-Alter-Caller: <agent
/// id>`). Set once per request by the authenticating middleware (`CallerResolver`);
/// `CredentialAccess` decides with it what may be used.
struct Caller: Sendable {
    enum Kind: Sendable, Equatable {
        /// The app key, no agent named.
        case app
        /// An agent key (`alter_ak_…`): the agent and nothing more.
        case agentKey
        /// The app key naming one of its agents in the caller header.
        case appActingAsAgent
    }

    let app: ClientApp
    let keyID: UUID
    let kind: Kind
    /// The agent for `.agentKey` and `.appActingAsAgent` (always active: an inactive or
    /// revoked agent never becomes a caller).
    let agent: Agent?

    /// The agent's id, when the caller is an agent.
    var agentID: UUID? { agent?.id }

    var isAgent: Bool { agent != nil }
}

extension Request {
    /// The caller of this request. Only routes behind `AppKeyAuthenticator` or
    /// `SignedRequestMiddleware` use it.
    var caller: Caller {
        get throws {
            guard let value = storage[CallerKey.self] else { throw APIError.unauthorized() }
            return value
        }
    }

    func setCaller(_ caller: Caller) {
        storage[CallerKey.self] = caller
    }
}

enum CallerKey: StorageKey {
    typealias Value = Caller
}
