import Vapor

/// The official Alter SDK's protocol under `/sdk` (reference: alter-sdk-protocol.md): every
/// route signed (`SignedRequestMiddleware`), answered in the SDK's envelope
/// (`SDKEnvelopeMiddleware`), and each a thin translation onto the capabilities `/v1` uses.
///
/// The widget files under `/sdk/` (`WidgetController`) are separate routes, outside this
/// group: a browser fetches them unsigned.
struct SDKRoutes: RouteCollection {
    static let maxBody: ByteCount = "15mb"

    func boot(routes: any RoutesBuilder) throws {
        let sdk = Self.signed(routes)
        try sdk.register(collection: SDKConnectController())
        try sdk.register(collection: SDKTokenController())
        try sdk.register(collection: SDKGrantsController())
        try sdk.register(collection: SDKAuditController())
        try sdk.register(collection: SDKProxyController())
        try sdk.register(collection: SDKManagedSecretsController())
    }
}

extension SDKRoutes {
    /// `/sdk` behind the SDK's envelope and signature check; rooms above mount their `/sdk` routes on it.
    static func signed(_ routes: any RoutesBuilder) -> any RoutesBuilder {
        routes.grouped("sdk").grouped(SDKEnvelopeMiddleware()).grouped(SignedRequestMiddleware())
    }
}

extension RoutesBuilder {
    /// A signed `POST` route: its body is collected before the signature middleware hashes it.
    @discardableResult
    func sdkPost(_ path: PathComponent..., use closure: @escaping @Sendable (Request) async throws -> Response) -> Route {
        on(.POST, path, body: .collect(maxSize: SDKRoutes.maxBody), use: closure)
    }

    /// A signed route of any method, its body collected like `sdkPost`'s.
    @discardableResult
    func sdkRoute(_ method: HTTPMethod, _ path: PathComponent..., use closure: @escaping @Sendable (Request) async throws -> Response) -> Route {
        on(method, path, body: .collect(maxSize: SDKRoutes.maxBody), use: closure)
    }
}

extension Response {
    /// A JSON response of the SDK protocol.
    static func sdkJSON(_ value: some Encodable, status: HTTPResponseStatus = .ok) throws -> Response {
        let response = Response(status: status)
        try response.content.encode(AnyEncodable(value), as: .json)
        return response
    }
}

private struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
