import Crypto
import Foundation

extension AlterVault {
    /// Checks a webhook's `Alter-Signature` and returns the event it carries.
    ///
    /// The header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; there may
    /// be several `v1` values while a secret is being rotated, and any match is accepted. The
    /// signature is compared in constant time, then the timestamp must be within `tolerance`
    /// of `now`, so a captured delivery cannot be replayed later.
    ///
    /// Pass the body exactly as received: re-encoded JSON does not verify.
    ///
    /// ```swift
    /// app.post("webhooks", "alter") { request async throws -> HTTPStatus in
    ///     let event = try AlterVault.verifyWebhook(
    ///         payload: Data(buffer: request.body.data ?? ByteBuffer()),
    ///         signatureHeader: request.headers.first(name: "Alter-Signature") ?? "",
    ///         secret: webhookSecret)
    ///     if event.type == .grantRefreshFailed { /* ask the user to reconnect event.grant.grantID */ }
    ///     return .noContent
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - payload: The request body, byte for byte.
    ///   - signatureHeader: The `Alter-Signature` header value.
    ///   - secret: The signing secret `alter apps webhook` printed.
    ///   - tolerance: The largest accepted difference between the signature's time and
    ///     `now`, in seconds. The default is 5 minutes.
    ///   - now: The current time (a parameter so tests can pin it).
    /// - Throws: ``WebhookVerificationError``: ``WebhookVerificationError/malformedHeader``,
    ///   ``WebhookVerificationError/signatureMismatch``,
    ///   ``WebhookVerificationError/timestampOutsideTolerance`` or
    ///   ``WebhookVerificationError/malformedPayload``.
    /// - Returns: The verified event.
    public static func verifyWebhook(
        payload: Data,
        signatureHeader: String,
        secret: String,
        tolerance: TimeInterval = 300,
        now: Date = Date()
    ) throws -> WebhookEvent {
        let header = try SignatureHeader(parsing: signatureHeader)
        let key = SymmetricKey(data: Data(secret.utf8))
        let signed = Data((header.timestamp + ".").utf8) + payload
        guard header.signatures.contains(where: { HMAC<SHA256>.isValidAuthenticationCode($0, authenticating: signed, using: key) }) else {
            throw WebhookVerificationError.signatureMismatch
        }
        guard let seconds = TimeInterval(header.timestamp), abs(now.timeIntervalSince1970 - seconds) <= tolerance else {
            throw WebhookVerificationError.timestampOutsideTolerance
        }
        do {
            return try WireCoding.decoder().decode(WebhookEvent.self, from: payload)
        } catch {
            throw WebhookVerificationError.malformedPayload
        }
    }

    /// Computes an `Alter-Signature` header value, as the vault does.
    ///
    /// For testing your webhook endpoint: sign a body you made up and post it to yourself.
    ///
    /// ```swift
    /// let header = AlterVault.signWebhook(payload: body, secret: "whsec_test")
    /// ```
    ///
    /// - Parameters:
    ///   - payload: The exact body.
    ///   - secret: The signing secret.
    ///   - timestamp: The signing time. The default is now.
    /// - Returns: `t=<unix seconds>,v1=<hex>`.
    public static func signWebhook(payload: Data, secret: String, timestamp: Date = Date()) -> String {
        let seconds = String(Int64(timestamp.timeIntervalSince1970.rounded(.down)))
        let mac = HMAC<SHA256>.authenticationCode(for: Data((seconds + ".").utf8) + payload, using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(seconds),v1=" + mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`; unknown parts (a future `v2`) are ignored.
struct SignatureHeader {
    /// The timestamp exactly as sent: it is part of the signed text.
    let timestamp: String
    let signatures: [Data]

    init(parsing header: String) throws {
        var timestamp: String?
        var signatures: [Data] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { throw WebhookVerificationError.malformedHeader }
            switch pair[0] {
            case "t":
                guard timestamp == nil, (1...12).contains(pair[1].count), pair[1].allSatisfy(\.isASCIIDigit) else {
                    throw WebhookVerificationError.malformedHeader
                }
                timestamp = pair[1]
            case "v1":
                guard let bytes = Self.hexBytes(pair[1]), bytes.count == SHA256.byteCount else {
                    throw WebhookVerificationError.malformedHeader
                }
                signatures.append(bytes)
            default:
                continue
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw WebhookVerificationError.malformedHeader }
        self.timestamp = timestamp
        self.signatures = signatures
    }

    private static func hexBytes(_ text: String) -> Data? {
        guard text.count.isMultiple(of: 2), text.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        var bytes = Data(capacity: text.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
