import Fluent
import Vapor

func routes(_ app: Application) throws {
    app.get("healthz") { request async throws -> Response in
        let response = Response(status: .ok, body: .init(string: "{\"status\":\"ok\"}"))
        response.headers.contentType = .json
        response.headers.cacheControl = .init(noStore: true)
        return response
    }
    try app.register(collection: ConnectSessionController())
}
