import Foundation
import NIOCore
import NIOFoundationCompat
import Vapor

/// `GET /v1/openapi.json`: the OpenAPI 3.1 description of `/v1`, served as the file kept in
/// the repo (`Sources/AlterServer/Resources/openapi.json`). `OpenAPIDescriptionTests` fails
/// when a `/v1` route is missing from it, and e2e/test_openapi.py when a real answer does
/// not validate against it.
struct APIDescriptionController: RouteCollection {
    let document: ByteBuffer

    init() throws {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json", subdirectory: "Resources") else {
            throw ConfigurationError("the OpenAPI description (Resources/openapi.json) is missing from the bundle")
        }
        document = ByteBuffer(data: try Data(contentsOf: url))
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("v1", "openapi.json") { _ async throws -> Response in
            var headers = HTTPHeaders()
            headers.contentType = .json
            headers.cacheControl = .init(noCache: true)
            return Response(status: .ok, headers: headers, body: .init(buffer: document))
        }
    }
}
