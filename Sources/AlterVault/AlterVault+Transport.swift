import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One answer from the vault, before it is interpreted as a value or an error.
struct VaultAnswer: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: Data

    var isSuccess: Bool { (200..<300).contains(status) }

    /// `Alter-Source` (docs/api.md): `vault` for the vault's own answers, `upstream` for a
    /// provider's answer passed through by the proxy.
    var source: String? { headers.first(name: "Alter-Source")?.lowercased() }
}

extension AlterVault {
    /// The proxy passes provider bodies up to 10 MiB (docs/api.md, `body_too_large`).
    static let maxBodyBytes = 10 * 1024 * 1024 + 64 * 1024

    /// Sends one request to the vault with the app key, caller and user agent, and collects
    /// the whole answer within ``timeout``.
    func send(_ method: RequestMethod, _ path: String, query: [(String, String?)] = [], json body: Data? = nil) async throws -> VaultAnswer {
        var request = HTTPClientRequest(url: baseURL + path + Self.queryString(query))
        request.method = HTTPMethod(rawValue: method.rawValue)
        request.headers.add(name: "Authorization", value: "Bearer " + apiKey)
        request.headers.add(name: "User-Agent", value: "alter-vault-swift/\(Self.version)")
        request.headers.add(name: "Accept", value: "application/json")
        if let caller, !caller.isEmpty { request.headers.add(name: "Alter-Caller", value: caller) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }

        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let answer: VaultAnswer
        do {
            let response = try await httpClient.execute(request, deadline: deadline)
            let bytes = try await response.body.collect(upTo: decodesBodies ? Self.maxDecodedBodyBytes : Self.maxBodyBytes)
            answer = VaultAnswer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw AlterVaultNetworkError(classifying: error)
        }
        // The path may carry a grant id (not a secret); never the query, headers or body.
        logger.debug("alter-vault call", metadata: ["method": "\(method.rawValue)", "path": "\(path)", "status": "\(answer.status)"])
        return answer
    }

    /// Sends a request and decodes a 2xx answer as `T`; any other answer throws the vault's error.
    func call<T: Decodable>(_ method: RequestMethod, _ path: String, query: [(String, String?)] = [], json body: (any Encodable)? = nil, as type: T.Type) async throws -> T {
        let data = try body.map { try WireCoding.encoder().encode($0) }
        let answer = try await send(method, path, query: query, json: data)
        guard answer.isSuccess else { throw Self.error(from: answer) }
        return try WireCoding.decode(T.self, from: answer.body, status: answer.status)
    }

    /// The typed error for a vault error answer: ``CredentialRevokedError`` for
    /// `credential_revoked`, else ``AlterVaultError``.
    static func error(from answer: VaultAnswer, grantID: String? = nil) -> any Error {
        guard let payload = try? WireCoding.decoder().decode(ErrorBody.self, from: answer.body).error else {
            return AlterVaultError(
                code: .unexpectedResponse, message: "The vault answered HTTP \(answer.status) without an error body.",
                status: answer.status)
        }
        let error = AlterVaultError(code: .init(rawValue: payload.code), message: payload.message, details: payload.details ?? [:], status: answer.status)
        if error.code == .credentialRevoked {
            let revoked = error.details["grant_id"]?.stringValue ?? grantID ?? ""
            return CredentialRevokedError(grantID: revoked, message: error.message)
        }
        return error
    }

    /// `/v1/grants/{id}` with the id escaped, so an id from a browser cannot change the path.
    static func path(_ segments: String...) -> String {
        "/" + segments.map(escape).joined(separator: "/")
    }

    static func queryString(_ items: [(String, String?)]) -> String {
        let present = items.compactMap { name, value in value.map { escape(name) + "=" + escape($0) } }
        return present.isEmpty ? "" : "?" + present.joined(separator: "&")
    }

    /// RFC 3986 §2.3 unreserved characters stay; everything else is percent-encoded.
    private static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

/// `{"error": {"code", "message", "details"?}}`, the body of every vault error.
struct ErrorBody: Decodable {
    struct Payload: Decodable {
        let code: String
        let message: String
        let details: [String: JSONValue]?
    }
    let error: Payload
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
