import Fluent
import FluentKit
import Foundation
import Vapor

/// `GET /v1/providers`: the catalog as the calling app sees it (its custom providers
/// included), marking which providers it has configured.
struct ProviderController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.grouped(AppKeyAuthenticator()).get("v1", "providers", use: list)
    }

    struct ProviderSummary: Content, Equatable {
        var id: String
        var name: String
        var description: String
        var category: String
        /// A `data:image/svg+xml;base64,…` URL, or null when the catalog has no logo.
        var logoURL: String?
        /// The app has an enabled OAuth client for this provider, so sessions may offer it.
        var configured: Bool
        /// The app's own provider (`alter providers add-custom`).
        var custom: Bool

        enum CodingKeys: String, CodingKey {
            case id, name, description, category, configured, custom
            case logoURL = "logo_url"
        }

        func encode(to encoder: any Encoder) throws {
            // `logo_url` is always present (null without a logo), as the API reference shows.
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(description, forKey: .description)
            try container.encode(category, forKey: .category)
            try container.encode(logoURL, forKey: .logoURL)
            try container.encode(configured, forKey: .configured)
            try container.encode(custom, forKey: .custom)
        }
    }

    struct ListResponse: Content {
        var providers: [ProviderSummary]
    }

    func list(request: Request) async throws -> Response {
        let app = try request.authenticatedApp.app
        let appID = try app.requireID()
        let catalog = try await request.application.providerCatalog.forApp(appID, on: request.db)
        let configured = Set(try await ProviderConfig.query(on: request.db)
            .filter(\.$app.$id == appID).filter(\.$enabled == true).all(\.$provider))
        let providers = catalog.sorted.map { provider in
            ProviderSummary(
                id: provider.id, name: provider.name, description: provider.description, category: provider.category,
                logoURL: provider.logoDataURL, configured: configured.contains(provider.id), custom: provider.isCustom)
        }
        let response = Response(status: .ok)
        response.headers.cacheControl = .init(noStore: true)
        try response.content.encode(ListResponse(providers: providers))
        return response
    }
}
