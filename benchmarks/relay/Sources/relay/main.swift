import AsyncHTTPClient
import Foundation
import NIOCore
import Vapor

// The least a Vapor route can do to relay a call: decode {method, url}, send it with
// AsyncHTTPClient, answer with the upstream's status, headers and body. No auth, no
// database, no audit. `GET /plaintext` is the reference for the vault's `/healthz`.
//   relay --port 8081
struct Call: Content {
    var method: String
    var url: String
}

let port = CommandLine.arguments.firstIndex(of: "--port").map { Int(CommandLine.arguments[$0 + 1])! } ?? 8081
var env = Environment(name: "production", arguments: ["relay"])
let app = try await Application.make(env)
app.logger.logLevel = .error
app.http.server.configuration.hostname = "127.0.0.1"
app.http.server.configuration.port = port
let client = HTTPClient(eventLoopGroupProvider: .shared(app.eventLoopGroup),
                        configuration: .init(redirectConfiguration: .disallow, decompression: .disabled))

app.get("plaintext") { _ in "ok" }
app.on(.POST, "relay", body: .collect(maxSize: "15mb")) { request async throws -> Response in
    let call = try request.content.decode(Call.self)
    var upstream = HTTPClientRequest(url: call.url)
    upstream.method = HTTPMethod(rawValue: call.method)
    let response = try await client.execute(upstream, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 10 * 1024 * 1024)
    var headers = response.headers
    for name in ["Content-Length", "Transfer-Encoding", "Connection"] { headers.remove(name: name) }
    return Response(status: response.status, headers: headers, body: .init(buffer: body))
}
try await app.execute()
try await client.shutdown()
try await app.asyncShutdown()
