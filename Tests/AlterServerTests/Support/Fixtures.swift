@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOFoundationCompat
import NIOHTTP1
import Testing
import Vapor
import VaporTesting

/// An app with a live key and configured providers, created straight in the database.
struct SeededApp {
    let app: ClientApp
    let key: String
    var id: UUID { app.id! }
}

func seedApp(
    _ application: Application,
    websiteURL: String? = "http://localhost:4001",
    providers: [String] = ["sandbox", "sandbox-mail"],
    agents: [String] = []
) async throws -> SeededApp {
    let app = ClientApp(name: "Test app \(UUID().uuidString.prefix(6))", websiteURL: websiteURL)
    try await app.create(on: application.db)
    let (key, secret) = APIKey.make(for: app.id!)
    try await key.create(on: application.db)
    for provider in providers {
        let config = ProviderConfig()
        config.id = UUID()
        config.$app.id = app.id!
        config.provider = provider
        config.clientID = "client-\(provider)"
        try config.setClientSecret("secret-\(provider)", using: application.sealer)
        config.scopes = []
        config.enabled = true
        try await config.create(on: application.db)
    }
    for name in agents {
        try await Agent(appID: app.id!, name: name, displayName: nil, kind: .agent).create(on: application.db)
    }
    return SeededApp(app: app, key: secret)
}

extension Application {
    /// `POST /v1/connect/sessions` with a JSON body, as an app backend sends it.
    func mintSession(key: String?, body: [String: any Sendable], query: String = "") async throws -> TestingHTTPResponse {
        var result: TestingHTTPResponse?
        let data = try JSONSerialization.data(withJSONObject: body)
        try await testing().test(.POST, "/v1/connect/sessions" + query, beforeRequest: { request in
            if let key { request.headers.bearerAuthorization = .init(token: key) }
            request.headers.contentType = .json
            request.body = ByteBuffer(data: data)
        }, afterResponse: { response async in
            result = response
        })
        return result!
    }

    func sessionCount() async throws -> Int {
        try await ConnectSession.query(on: db).count()
    }
}

extension TestingHTTPResponse {
    /// The `error.code` of an error response.
    var errorCode: String? {
        (try? content.decode(APIErrorBody.self))?.error.code
    }

    var errorMessage: String? {
        (try? content.decode(APIErrorBody.self))?.error.message
    }

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }
}

/// A Connect session stored directly, for tests that write grants without a browser flow.
func storeSession(_ application: Application, appID: UUID, providers: [String], status: ConnectSession.Status = .completed) async throws -> ConnectSession {
    let session = ConnectSession()
    session.id = UUID()
    session.$app.id = appID
    session.tokenHash = SecretToken.hash(SecretToken.generate(prefix: ConnectSession.tokenPrefix))
    session.allowedProviders = providers
    session.origin = "http://localhost:4001"
    session.expiresAt = Date().addingTimeInterval(600)
    session.status = status
    try await session.create(on: application.db)
    return session
}

/// A grant for a provider no OAuth server here can issue (a catalog entry made up by a test),
/// written the way the callback writes one. Returns its id.
func storeGrant(_ application: Application, appID: UUID, provider: String, account: String, accessToken: String) async throws -> String {
    let session = try await storeSession(application, appID: appID, providers: [provider])
    let written = try await GrantWriter(db: application.db, sealer: application.sealer, catalog: application.providerCatalog, now: Date())
        .write(session: session, provider: provider, account: .init(identifier: account), tokens: ProviderTokens(accessToken: accessToken), requestedScopes: [])
    return try written.grant.requireID().uuidString
}
