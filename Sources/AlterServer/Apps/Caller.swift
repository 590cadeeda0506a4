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
    /// The agent for `.agentKey` and `.appActingAsAgent` (never revoked; paused only for an
    /// agent key, see `Request.caller`).
    let agent: Agent?

    /// The agent's id, when the caller is an agent.
    var agentID: UUID? { agent?.id }

    var isAgent: Bool { agent != nil }
}

extension Request {
    /// The caller of this request. Only routes behind `AppKeyAuthenticator` or
    /// `SignedRequestMiddleware` use it. A paused agent's key is refused (`agent_inactive`).
    var caller: Caller {
        get throws {
            let caller = try callerEvenIfPaused
            if caller.kind == .agentKey, let agent = caller.agent, agent.status == .inactive {
                throw APIError(.agentInactive, "Agent \(agent.name) is paused; resume it before it calls again.")
            }
            return caller
        }
    }

    /// The caller, a paused agent included: only `agents/me` reads it, so a paused agent can
    /// still see that it is paused.
    var callerEvenIfPaused: Caller {
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
