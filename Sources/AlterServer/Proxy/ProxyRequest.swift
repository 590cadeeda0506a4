import Foundation
import NIOFoundationCompat
import Vapor

/// `POST /v1/request` body (docs/api.md).
struct ProxyRequest: Content {
    var method: String
    var url: String
    var grantID: String?
    var userToken: String?
    var provider: String?
    var accountIdentifier: String?
    var headers: [String: String]?
    var body: String?
    var bodyBase64: String?
    var agent: String?

    enum CodingKeys: String, CodingKey {
        case method, url, headers, body, agent, provider
        case grantID = "grant_id"
        case userToken = "user_token"
        case accountIdentifier = "account_identifier"
        case bodyBase64 = "body_base64"
    }

    static let methods: Set<String> = ProxyMethods.all

    var reference: GrantResolver.Reference {
        .init(grantID: grantID, userToken: userToken, provider: provider, accountIdentifier: accountIdentifier)
    }
}

extension ProxyRequest {
    /// The body, read as `request.content.decode` reads it. A JSON body (the only kind the SDKs
    /// send) goes straight to a JSON decoder: Vapor's way parses the Content-Type into a media
    /// type and looks the decoder up in the global configuration, under its lock, on every
    /// call, which was 4.5% of a proxied call's CPU (issue 14). Any other body, or none, takes
    /// Vapor's way, with its answers (415, empty body).
    static func decode(from request: Request) throws -> ProxyRequest {
        guard let type = request.headers.first(name: .contentType), isJSON(type), let body = request.body.data else {
            return try request.content.decode(ProxyRequest.self)
        }
        return try jsonDecoder.decode(ProxyRequest.self, from: body)
    }

    private static let jsonDecoder = JSONDecoder()

    /// `application/json`, with parameters or without, in any letter case.
    static func isJSON(_ contentType: String) -> Bool {
        var essence = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }[...]
        while essence.first == UInt8(ascii: " ") { essence = essence.dropFirst() }
        while essence.last == UInt8(ascii: " ") { essence = essence.dropLast() }
        return essence.elementsEqual("application/json".utf8) { byte, expected in
            (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == expected
        }
    }
}
