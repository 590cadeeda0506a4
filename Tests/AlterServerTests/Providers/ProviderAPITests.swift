@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Vapor
import VaporTesting

/// `GET /v1/providers`: what an app backend sees of the catalog.
@Suite("Provider list API")
struct ProviderAPITests {
    static func list(_ app: Application, key: String?, query: String = "") async throws -> TestingHTTPResponse {
        var result: TestingHTTPResponse?
        try await app.testing().test(.GET, "/v1/providers" + query, beforeRequest: { request in
            if let key { request.headers.bearerAuthorization = .init(token: key) }
        }, afterResponse: { response async in
            result = response
        })
        return try #require(result)
    }

    @Test("an app sees the whole catalog in the seeds' Provider shape, with configured and custom flags", arguments: TestDatabase.all)
    func shape(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app, providers: ["github", "sandbox"])
            let disabled = try #require(try await ProviderConfig.query(on: app.db).filter(\.$provider == "sandbox").first())
            disabled.enabled = false
            try await disabled.save(on: app.db)
            let custom = CustomProvider()
            custom.$app.id = seeded.id
            try custom.store(try ProviderCustomTests.input().entry(discovered: nil))
            try await custom.save(on: app.db)

            let response = try await Self.list(app, key: seeded.key)
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "Cache-Control") == "no-store")
            let providers = try #require(response.json["providers"] as? [[String: Any]])
            #expect(providers.count == ProviderCatalogTests.shipped.count + SandboxProviders.ids.count + 1)
            for provider in providers {
                #expect(Set(provider.keys) == ["id", "name", "description", "category", "logo_url", "configured", "custom"])
            }
            let byID = Dictionary(uniqueKeysWithValues: providers.map { ($0["id"] as! String, $0) })
            #expect(byID["github"]?["configured"] as? Bool == true)
            #expect(byID["github"]?["name"] as? String == "GitHub")
            #expect(byID["github"]?["logo_url"] is NSNull)
            #expect(byID["sandbox"]?["configured"] as? Bool == false, "a disabled config is not offered")
            #expect(byID["google"]?["configured"] as? Bool == false)
            #expect(byID["my-idp"]?["custom"] as? Bool == true)
            #expect(byID["github"]?["custom"] as? Bool == false)
            let names = providers.compactMap { ($0["name"] as? String)?.lowercased() }
            #expect(names == names.sorted())
        }
    }

    @Test("a logo is served as a data: URL of the SVG")
    func logo() async throws {
        try await withApp { app in
            var entry = try ProviderCustomTests.input().entry(discovered: nil)
            entry.id = "logo-test"
            entry.isCustom = false
            entry.logoSVG = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"><rect width=\"1\" height=\"1\"/></svg>"
            app.providerCatalog = try ProviderCatalog(providers: app.providerCatalog.sorted + [entry])
            let seeded = try await seedApp(app, providers: [])
            let providers = try #require(try await Self.list(app, key: seeded.key).json["providers"] as? [[String: Any]])
            let logo = try #require(providers.first { $0["id"] as? String == "logo-test" }?["logo_url"] as? String)
            #expect(logo.hasPrefix("data:image/svg+xml;base64,"))
            let svg = Data(base64Encoded: String(logo.dropFirst("data:image/svg+xml;base64,".count))).map { String(decoding: $0, as: UTF8.self) }
            #expect(svg == entry.logoSVG)
        }
    }

    @Test("without a valid app key, or with the key in the URL, the list is refused")
    func unauthorized() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            for response in [
                try await Self.list(app, key: nil), try await Self.list(app, key: "ak_nope"),
                try await Self.list(app, key: nil, query: "?api_key=\(seeded.key)"),
            ] {
                #expect(response.status == .unauthorized)
                #expect(response.errorCode == "unauthorized")
            }
        }
    }
}
