import Foundation

/// A webhook the vault delivered: something happened to one of your app's grants.
///
/// Get one from ``AlterVault/verifyWebhook(payload:signatureHeader:secret:tolerance:now:)``,
/// never by decoding an unverified body. Deliveries are at least once: use ``id`` to ignore
/// a repeat.
public struct WebhookEvent: Sendable, Hashable, Decodable {
    /// The kind of event.
    public struct EventType: RawRepresentable, Sendable, Hashable, Decodable, CustomStringConvertible {
        /// The wire value, e.g. `grant.created`.
        public let rawValue: String

        /// Wraps an event type the vault sent.
        ///
        /// - Parameters:
        ///   - rawValue: The wire value.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The wire value.
        public var description: String { rawValue }

        /// A user connected a new account.
        public static let grantCreated = EventType(rawValue: "grant.created")
        /// A user re-connected an existing grant (same grant id).
        public static let grantReauthorized = EventType(rawValue: "grant.reauthorized")
        /// A grant was revoked.
        public static let grantRevoked = EventType(rawValue: "grant.revoked")
        /// The provider rejected a refresh; the grant needs re-connecting.
        public static let grantRefreshFailed = EventType(rawValue: "grant.refresh_failed")
    }

    /// The event id; the same across redeliveries.
    public let id: String
    /// What happened.
    public let type: EventType
    /// When it happened.
    public let createdAt: Date
    /// The grant as it was after the event.
    public let grant: GrantInfo

    enum CodingKeys: String, CodingKey {
        case id, type, data
        case createdAt = "created_at"
    }

    private struct Payload: Decodable {
        let grant: GrantInfo
    }

    /// Reads `{"id", "type", "created_at", "data": {"grant": GrantInfo}}`.
    ///
    /// - Parameters:
    ///   - decoder: The decoder positioned at the object.
    /// - Throws: `DecodingError` when a field is missing or has the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        type = try container.decode(EventType.self, forKey: .type)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        grant = try container.decode(Payload.self, forKey: .data).grant
    }
}

/// Why a webhook was refused. Answer every one of them with a 4xx and do nothing else.
public enum WebhookVerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `Alter-Signature` is missing parts or not `t=<unix seconds>,v1=<hex>`.
    case malformedHeader
    /// No `v1` signature matches the body and timestamp with this secret: a forgery, a body
    /// changed on the way (re-serialised JSON), or the wrong secret.
    case signatureMismatch
    /// The signature is valid but its timestamp is further from now than the tolerance: a
    /// replay of an old delivery, or a clock that is far off.
    case timestampOutsideTolerance
    /// The signature is valid but the body is not a webhook event.
    case malformedPayload

    /// A sentence naming the reason; never the header, secret or body.
    public var description: String {
        switch self {
        case .malformedHeader: "webhook refused: malformed Alter-Signature header"
        case .signatureMismatch: "webhook refused: signature does not match"
        case .timestampOutsideTolerance: "webhook refused: timestamp outside the tolerance"
        case .malformedPayload: "webhook refused: signed body is not a webhook event"
        }
    }
}
