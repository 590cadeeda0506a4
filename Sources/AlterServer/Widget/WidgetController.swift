import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import Vapor

/// Serves the built widget (`connect/dist`, copied into Resources/sdk by connect/build.sh)
/// at `/sdk/…`, so a page can load it from the vault itself with no JS toolchain.
struct WidgetController: RouteCollection {
    struct File {
        let body: ByteBuffer
        let etag: String
    }

    static let fileNames = ["alter-connect.umd.js", "alter-connect.mjs"]
    let files: [String: File]

    init() throws {
        var files: [String: File] = [:]
        for name in Self.fileNames {
            let base = (name as NSString).deletingPathExtension
            let ext = (name as NSString).pathExtension
            guard let url = Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Resources/sdk") else {
                throw ConfigurationError("the built widget \(name) is missing from Resources/sdk; run connect/build.sh")
            }
            let data = try Data(contentsOf: url)
            let digest = SHA256.hash(data: data).prefix(12).lowercaseHex
            files[name] = File(body: ByteBuffer(data: data), etag: "\"\(digest)\"")
        }
        self.files = files
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("sdk", ":file", use: serve)
    }

    func serve(request: Request) async throws -> Response {
        guard let name = request.parameters.get("file"), let file = files[name] else {
            throw APIError(.notFound, "No such file.")
        }
        if request.headers.first(name: .ifNoneMatch) == file.etag {
            return Response(status: .notModified, headers: Self.headers(etag: file.etag))
        }
        var headers = Self.headers(etag: file.etag)
        headers.contentType = HTTPMediaType(type: "text", subType: "javascript", parameters: ["charset": "utf-8"])
        return Response(status: .ok, headers: headers, body: .init(buffer: file.body))
    }

    /// A day of caching with revalidation by ETag: the URL is not versioned, so an upgraded
    /// server's widget reaches browsers within a day. CORS lets pages `import` the ESM build.
    static func headers(etag: String) -> HTTPHeaders {
        [
            "Cache-Control": "public, max-age=86400, stale-while-revalidate=604800",
            "ETag": etag,
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        ]
    }
}
