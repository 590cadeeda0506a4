@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import Testing
import Vapor
import VaporTesting

@Suite("Minting Connect sessions")
struct MintSessionTests {
    @Test("a backend mints a single-use session token that is stored only as a hash", arguments: TestDatabase.all)
    func mintsSession(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            let response = try await app.mintSession(key: seeded.key, body: ["allowed_origin": "http://localhost:4001"])

            #expect(response.status == .created)
            let json = response.json
            let token = try #require(json["session_token"] as? String)
            #expect(SecretToken.isWellFormed(token, prefix: "cs_"))
            #expect(json["connect_url"] as? String == "http://localhost:4000/connect?token=\(token)")
            let expiresAt = try #require((json["expires_at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
            #expect(abs(expiresAt.timeIntervalSinceNow - 600) < 5)

            let stored = try #require(try await ConnectSession.query(on: app.db).first())
            #expect(stored.tokenHash == SecretToken.hash(token))
            #expect(stored.tokenHash != token)
            #expect(stored.allowedProviders == ["sandbox", "sandbox-mail"])
            #expect(stored.origin == "http://localhost:4001")
            #expect(stored.status == .pending)
        }
    }

    @Test("client metadata sent at mint time is kept on the session; oversized metadata is refused and nothing is stored", arguments: TestDatabase.all)
    func metadata(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            let tooMany = Dictionary(uniqueKeysWithValues: (0..<17).map { ("k\($0)", "v") })
            for bad in [tooMany, ["ip_address": String(repeating: "1", count: 513)], ["": "x"]] {
                let refused = try await app.mintSession(key: seeded.key, body: ["metadata": bad])
                #expect(refused.status == .badRequest)
                #expect(refused.errorCode == "invalid_request")
            }
            #expect(try await app.sessionCount() == 0)

            let response = try await app.mintSession(key: seeded.key, body: ["metadata": ["ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0"]])
            #expect(response.status == .created)
            let stored = try #require(try await ConnectSession.query(on: app.db).first())
            #expect(stored.metadata == ["ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0"])
        }
    }

    @Test("the session lifetime is configurable")
    func configurableTTL() async throws {
        try await withApp(adjust: { $0.sessionTTL = 120 }) { app in
            let seeded = try await seedApp(app)
            let response = try await app.mintSession(key: seeded.key, body: [:])
            let session = try #require(try await ConnectSession.query(on: app.db).first())
            #expect(response.status == .created)
            #expect(abs(session.expiresAt.timeIntervalSinceNow - 120) < 5)
        }
    }

    @Test("omitting allowed_providers offers every configured provider; listing filters to configured ones", arguments: TestDatabase.all)
    func providerFiltering(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            _ = try await app.mintSession(key: seeded.key, body: [:])
            let listed = try await app.mintSession(key: seeded.key, body: ["allowed_providers": ["sandbox-mail", "google", "nope", "sandbox-mail"]])
            #expect(listed.status == .created)

            let sessions = try await ConnectSession.query(on: app.db).sort(\.$createdAt).all()
            #expect(Set(sessions.map(\.allowedProviders)) == [["sandbox", "sandbox-mail"], ["sandbox-mail"]])
        }
    }

    @Test("a provider list with nothing configured is refused and nothing is stored", arguments: TestDatabase.all)
    func unknownProvidersOnly(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let seeded = try await seedApp(app)
            for providers in [["google", "unknown"], [String]()] {
                let response = try await app.mintSession(key: seeded.key, body: ["allowed_providers": providers])
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "no_providers")
            }
            #expect(try await app.sessionCount() == 0)
        }
    }

    @Test("an app with no providers configured cannot mint sessions")
    func noProvidersConfigured() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app, providers: [])
            let response = try await app.mintSession(key: seeded.key, body: [:])
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "no_providers")
            #expect(try await app.sessionCount() == 0)
        }
    }

    @Test("without allowed_origin the app's website_url is the origin; with neither the mint fails", arguments: TestDatabase.all)
    func originFallback(database: TestDatabase) async throws {
        try await withApp(database: database) { app in
            let withWebsite = try await seedApp(app, websiteURL: "https://app.example.com")
            let ok = try await app.mintSession(key: withWebsite.key, body: [:])
            #expect(ok.status == .created)
            #expect(try await ConnectSession.query(on: app.db).first()?.origin == "https://app.example.com")

            let noWebsite = try await seedApp(app, websiteURL: nil)
            let refused = try await app.mintSession(key: noWebsite.key, body: [:])
            #expect(refused.status == .badRequest)
            #expect(refused.errorCode == "missing_origin")
            #expect(try await app.sessionCount() == 1)
        }
    }

    // The rule's table is OriginRulesTests; here one case of each code goes through the API.
    @Test("a non-canonical allowed_origin answers 400 invalid_origin and stores nothing", arguments: ["https://app.example.com/", "https://2130706433", "https://0x7f.1", "http://[0:0::1]:8080"])
    func rejectsNonCanonicalOrigin(origin: String) async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            let response = try await app.mintSession(key: seeded.key, body: ["allowed_origin": origin])
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "invalid_origin")
            #expect(try await app.sessionCount() == 0)
        }
    }

    @Test("canonical origins are accepted as written", arguments: [
        "https://app.example.com", "https://app.example.com:8443", "http://localhost:3000", "http://127.0.0.1:5173",
        "http://[::1]:8080", "https://xn--bcher-kva.example", "http://dev.localhost",
    ])
    func acceptsCanonicalOrigins(origin: String) async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            let response = try await app.mintSession(key: seeded.key, body: ["allowed_origin": origin])
            #expect(response.status == .created)
            #expect(try await ConnectSession.query(on: app.db).first()?.origin == origin)
        }
    }

    @Test("a return_url off the session's origin answers 400 invalid_return_url and stores nothing")
    func rejectsForeignReturnURL() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            let response = try await app.mintSession(key: seeded.key, body: ["allowed_origin": "https://a.com", "return_url": "https://a.com.evil.com/"])
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "invalid_return_url")
            #expect(try await app.sessionCount() == 0)
        }
    }

    @Test("a return_url on the session's origin is stored", arguments: [
        "https://a.com", "https://a.com/", "https://a.com/settings/integrations?tab=2#done", "https://a.com?x=1",
    ])
    func acceptsSameOriginReturnURL(returnURL: String) async throws {
        try await withApp { app in
            let seeded = try await seedApp(app)
            let response = try await app.mintSession(key: seeded.key, body: ["allowed_origin": "https://a.com", "return_url": returnURL])
            #expect(response.status == .created)
            #expect(try await ConnectSession.query(on: app.db).first()?.returnURL == returnURL)
        }
    }

    @Test("a malformed body or agent is refused with invalid_request")
    func malformedBodies() async throws {
        try await withApp { app in
            let seeded = try await seedApp(app, agents: ["calendar-bot"])
            let cases: [[String: any Sendable]] = [
                ["allowed_providers": "sandbox"], ["allowed_origin": 5], ["agent": ""], ["agent": "bad agent name"],
                ["agent": String(repeating: "a", count: 129)],
            ]
            for body in cases {
                let response = try await app.mintSession(key: seeded.key, body: body)
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "invalid_request")
            }
            let unknown = try await app.mintSession(key: seeded.key, body: ["agent": "mail-bot"])
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "agent_not_found")
            #expect(try await app.sessionCount() == 0)
            let agent = try await app.mintSession(key: seeded.key, body: ["agent": "calendar-bot"])
            #expect(agent.status == .created)
            let stored = try #require(try await ConnectSession.query(on: app.db).with(\.$agent).first())
            #expect(stored.agent?.name == "calendar-bot")
            #expect(try await app.sessionCount() == 1)
        }
    }
}
