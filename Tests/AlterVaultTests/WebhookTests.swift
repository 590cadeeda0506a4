import AlterVault
import Foundation
import Testing

/// `AlterVault.verifyWebhook`: pure, no server. The known-answer vector was computed
/// independently (Python's `hmac`), so the SDK is not only checked against itself.
@Suite("Webhook signatures")
struct WebhookTests {
    static let secret = "whsec_test_secret"
    static let body = Data(#"{"created_at":"2030-01-07T09:00:00Z","data":{"grant":{"account_identifier":"alice@sandbox.test","agents":[],"created_at":"2030-01-07T08:59:58Z","grant_id":"0b7c6f7e-2f8e-4c43-9d7a-3c1f2f0d9b11","provider":"sandbox","provider_name":"Sandbox","scopes":["calendar.read"],"status":"active","updated_at":"2030-01-07T08:59:58Z"}},"id":"evt_01","type":"grant.created"}"#.utf8)
    static let signedAt: TimeInterval = 1_893_920_400
    static let header = "t=1893920400,v1=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410"
    static let justAfter = Date(timeIntervalSince1970: signedAt + 10)

    @Test("a correctly signed delivery verifies and decodes the event")
    func valid() throws {
        let event = try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: Self.header, secret: Self.secret, now: Self.justAfter)

        #expect(event.id == "evt_01")
        #expect(event.type == .grantCreated)
        #expect(event.grant.grantID == "0b7c6f7e-2f8e-4c43-9d7a-3c1f2f0d9b11")
        #expect(event.grant.accountIdentifier == "alice@sandbox.test")
        #expect(event.grant.status == .active)
    }

    @Test("signWebhook produces the header the vault sends")
    func signMatchesVector() {
        #expect(AlterVault.signWebhook(payload: Self.body, secret: Self.secret, timestamp: Date(timeIntervalSince1970: Self.signedAt)) == Self.header)
    }

    @Test("during a secret rotation any matching v1 is accepted")
    func rotation() throws {
        let header = "t=1893920400,v1=" + String(repeating: "ab", count: 32) + ",v1=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410"
        let event = try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: header, secret: Self.secret, now: Self.justAfter)
        #expect(event.id == "evt_01")
    }

    @Test("a changed body, another secret or another timestamp is signatureMismatch")
    func invalid() {
        var tampered = Self.body
        tampered[tampered.count - 3] = UInt8(ascii: "X")
        #expect(throws: WebhookVerificationError.signatureMismatch) {
            try AlterVault.verifyWebhook(payload: tampered, signatureHeader: Self.header, secret: Self.secret, now: Self.justAfter)
        }
        #expect(throws: WebhookVerificationError.signatureMismatch) {
            try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: Self.header, secret: "whsec_other", now: Self.justAfter)
        }
        #expect(throws: WebhookVerificationError.signatureMismatch) {
            let moved = Self.header.replacingOccurrences(of: "t=1893920400", with: "t=1893920401")
            return try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: moved, secret: Self.secret, now: Self.justAfter)
        }
    }

    @Test("a valid signature older than the tolerance is refused as a replay")
    func tooOld() {
        let sixMinutesLater = Date(timeIntervalSince1970: Self.signedAt + 360)
        #expect(throws: WebhookVerificationError.timestampOutsideTolerance) {
            try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: Self.header, secret: Self.secret, now: sixMinutesLater)
        }
        #expect(throws: WebhookVerificationError.timestampOutsideTolerance) {
            try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: Self.header, secret: Self.secret, tolerance: 5, now: Self.justAfter)
        }
        let signedInTheFuture = Date(timeIntervalSince1970: Self.signedAt - 360)
        #expect(throws: WebhookVerificationError.timestampOutsideTolerance) {
            try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: Self.header, secret: Self.secret, now: signedInTheFuture)
        }
    }

    @Test("a malformed Alter-Signature header is malformedHeader", arguments: [
        "",
        "v1=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
        "t=1893920400",
        "t=1893920400,v0=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
        "t=abc,v1=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
        "t=-1893920400,v1=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
        "t=1893920400,v1=6861b760",
        "t=1893920400,v1=zz61b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
        "t=1893920400,v1=+861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
        "t=1893920400;v1=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
        "t=1,t=1893920400,v1=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
        "sha256=6861b760b8af80f55125b0b6406294642f7a9f34cdc6e821dfbc4963872c4410",
    ])
    func malformed(header: String) {
        #expect(throws: WebhookVerificationError.malformedHeader) {
            try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: header, secret: Self.secret, now: Self.justAfter)
        }
    }

    @Test("spaces after the commas are tolerated")
    func spaces() throws {
        let header = Self.header.replacingOccurrences(of: ",", with: ", ")
        #expect(try AlterVault.verifyWebhook(payload: Self.body, signatureHeader: header, secret: Self.secret, now: Self.justAfter).id == "evt_01")
    }

    @Test("a correctly signed body that is not an event is malformedPayload")
    func notAnEvent() {
        let body = Data(#"{"hello":"world"}"#.utf8)
        let header = AlterVault.signWebhook(payload: body, secret: Self.secret, timestamp: Self.justAfter)
        #expect(throws: WebhookVerificationError.malformedPayload) {
            try AlterVault.verifyWebhook(payload: body, signatureHeader: header, secret: Self.secret, now: Self.justAfter)
        }
    }

    @Test("error descriptions name the reason, never the header or secret")
    func descriptions() {
        let errors: [WebhookVerificationError] = [.malformedHeader, .signatureMismatch, .timestampOutsideTolerance, .malformedPayload]
        for error in errors {
            #expect(!error.description.contains(Self.secret))
            #expect(!error.description.contains("6861b760"))
        }
        #expect(Set(errors.map(\.description)).count == 4)
    }
}
