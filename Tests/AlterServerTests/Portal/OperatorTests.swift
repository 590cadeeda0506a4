@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor
import VaporTesting

@Suite("Portal operators: passwords, sessions, throttling")
struct OperatorTests {
    static let cheap = OperatorPassword.Cost(log2N: 10, r: 8, p: 1)

    @Test("a scrypt hash verifies its password only, carries its cost, and a malformed hash verifies nothing")
    func passwordHash() throws {
        let hash = try OperatorPassword.hash("correct horse battery", cost: Self.cheap)
        #expect(hash.hasPrefix("scrypt$10$8$1$"))
        #expect(OperatorPassword.verify("correct horse battery", against: hash))
        #expect(!OperatorPassword.verify("correct horse batterY", against: hash))
        #expect(!OperatorPassword.verify("correct horse battery", against: "scrypt$10$8$1$AAAA"))
        #expect(!OperatorPassword.verify("x", against: "plain$x"))
        #expect(try OperatorPassword.hash("correct horse battery", cost: Self.cheap) != hash)  // salted
    }

    @Test("a new password is refused when too short, too long or the email", arguments: [
        ("short", "Choose a password of at least 12 characters."),
        (String(repeating: "a", count: 257), "Choose a password of at most 256 characters."),
        ("OPS@example.com", "The password must not be the email address."),
    ])
    func passwordRules(password: String, message: String) {
        #expect(throws: OperatorPassword.Refusal.self) { try OperatorPassword.check(password, email: "ops@example.com") }
        do { try OperatorPassword.check(password, email: "ops@example.com") } catch { #expect(error.description == message) }
    }

    @Test("failed sign-ins on one instance throttle the account on another instance of the same database", arguments: TestDatabase.all)
    func throttleAcrossInstances(database: TestDatabase) async throws {
        try await withApp(database: database) { first in
            first.operatorPasswordCost = Self.cheap
            _ = try await OperatorAccounts(application: first, db: first.db).create(email: "Ops@Example.com", password: "correct horse battery")
            let second = try await Application.make(.testing)
            second.logger.logLevel = .warning
            do {
                try await configure(second, with: first.alterConfiguration)
                for _ in 0..<LoginThrottle.perAccount {
                    await #expect(throws: OperatorAccounts.Failure.wrongCredentials) {
                        _ = try await OperatorAccounts(application: first, db: first.db).authenticate(email: "ops@example.com", password: "wrong password!", address: "192.0.2.1")
                    }
                }
                // Another instance, another address, the right password: still refused.
                await #expect(throws: OperatorAccounts.Failure.self) {
                    _ = try await OperatorAccounts(application: second, db: second.db).authenticate(email: "ops@example.com", password: "correct horse battery", address: "198.51.100.7")
                }
                do {
                    _ = try await OperatorAccounts(application: second, db: second.db).authenticate(email: "ops@example.com", password: "correct horse battery", address: "198.51.100.7")
                } catch let failure as OperatorAccounts.Failure {
                    guard case .throttled(let wait) = failure else { Issue.record("expected throttled, got \(failure)"); return }
                    #expect(wait > 0 && wait <= LoginThrottle.window)
                }
                // Past the window, the right password works again.
                let later = Date().addingTimeInterval(LoginThrottle.window + 1)
                second.clock = VaultClock(now: { later })
                let account = try await OperatorAccounts(application: second, db: second.db).authenticate(email: "ops@example.com", password: "correct horse battery", address: nil)
                #expect(account.email == "ops@example.com")
            } catch {
                try? await second.asyncShutdown()
                throw error
            }
            try await second.asyncShutdown()
        }
    }

    @Test("a setup link sets the password once; a second use and an expired link are refused")
    func setupLink() async throws {
        try await withApp { app in
            app.operatorPasswordCost = Self.cheap
            let accounts = OperatorAccounts(application: app, db: app.db)
            let created = try await accounts.create(email: "new@example.com", password: nil)
            let link = try #require(created.setupLink)
            #expect(link.hasPrefix("http://localhost:4000/portal/setup?token=ops_setup_"))
            let token = String(link.split(separator: "=").last!)
            _ = try await accounts.completeSetup(token: token, password: "a long enough password")
            await #expect(throws: OperatorAccounts.Failure.setupLinkInvalid) { _ = try await accounts.completeSetup(token: token, password: "another long password") }
            _ = try await accounts.authenticate(email: "new@example.com", password: "a long enough password", address: nil)

            let again = try await accounts.create(email: "new@example.com", password: nil, reset: true)
            let second = String(try #require(again.setupLink).split(separator: "=").last!)
            await #expect(throws: OperatorAccounts.Failure.wrongCredentials) {
                _ = try await accounts.authenticate(email: "new@example.com", password: "a long enough password", address: nil)
            }
            let tomorrow = Date().addingTimeInterval(OperatorAccounts.setupLifetime + 1)
            app.clock = VaultClock(now: { tomorrow })
            await #expect(throws: OperatorAccounts.Failure.setupLinkInvalid) { _ = try await accounts.completeSetup(token: second, password: "another long password") }
            await #expect(throws: OperatorAccounts.Failure.emailTaken) { _ = try await accounts.create(email: "NEW@example.com", password: nil) }
        }
    }

    @Test("a session opens the portal until its idle timeout or lifetime passes; then the browser is sent to sign in", arguments: [30 * 60 + 1.0, 12 * 3600 + 1.0])
    func sessionExpiry(after seconds: TimeInterval) async throws {
        try await withApp { app in
            app.operatorPasswordCost = Self.cheap
            let start = Date()
            let now = NIOLockedValueBox(start)
            app.clock = VaultClock(now: { now.withLockedValue { $0 } })
            let created = try await OperatorAccounts(application: app, db: app.db).create(email: "ops@example.com", password: "correct horse battery")
            let sessions = OperatorSessions(db: app.db, now: start, policy: .init(secureCookie: false))
            let started = try await sessions.start(for: created.account)
            var headers = HTTPHeaders()
            headers.cookie = HTTPCookies(dictionaryLiteral: (OperatorSessions.cookieName, started.cookie))
            #expect(started.cookie.isHTTPOnly && started.cookie.sameSite == .strict && started.cookie.path == "/portal")
            try await app.testing().test(.GET, "/portal", headers: headers) { response in
                #expect(response.status == .ok)
                #expect(response.body.string.contains("ops@example.com"))
            }
            // Keep it active every 20 minutes: only the lifetime ends it then.
            var elapsed: TimeInterval = 0
            while elapsed + 20 * 60 < seconds - 60, seconds > 3600 {
                elapsed += 20 * 60
                now.withLockedValue { $0 = start.addingTimeInterval(elapsed) }
                try await app.testing().test(.GET, "/portal", headers: headers) { #expect($0.status == .ok, "after \(elapsed) s") }
            }
            now.withLockedValue { $0 = start.addingTimeInterval(seconds) }
            try await app.testing().test(.GET, "/portal", headers: headers) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers.first(name: .location)?.hasPrefix("/portal/login?next=") == true)
                #expect(response.headers.first(name: .location)?.hasSuffix("done=expired") == true)
            }
            #expect(try await OperatorSession.query(on: app.db).count() == 0)
        }
    }

    @Test("a POST without the session's CSRF token, or from another origin, changes nothing")
    func csrf() async throws {
        try await withApp { app in
            app.operatorPasswordCost = Self.cheap
            let created = try await OperatorAccounts(application: app, db: app.db).create(email: "ops@example.com", password: "correct horse battery")
            let started = try await OperatorSessions(db: app.db, now: Date(), policy: .init(secureCookie: false)).start(for: created.account)
            var headers = HTTPHeaders()
            headers.cookie = HTTPCookies(dictionaryLiteral: (OperatorSessions.cookieName, started.cookie))
            headers.contentType = .urlEncodedForm
            let token = started.session.csrfToken
            for (origin, csrf) in [("http://localhost:4000", "wrong"), ("http://localhost:4001", token), ("null", token)] {
                var h = headers
                h.replaceOrAdd(name: .origin, value: origin)
                try await app.testing().test(.POST, "/portal/apps", headers: h, body: ByteBuffer(string: "name=Evil&csrf=\(csrf)")) { #expect($0.status == .forbidden) }
            }
            #expect(try await ClientApp.query(on: app.db).count() == 0)
            headers.replaceOrAdd(name: .origin, value: "http://localhost:4000")
            try await app.testing().test(.POST, "/portal/apps", headers: headers, body: ByteBuffer(string: "name=Good&csrf=\(token)")) { #expect($0.status == .seeOther) }
            #expect(try await ClientApp.query(on: app.db).all().map(\.name) == ["Good"])
        }
    }

    @Test("new operator passwords get the standard scrypt cost unless alter demo is told otherwise for tests")
    func standardCostByDefault() async throws {
        #expect(OperatorPassword.Cost.standard == OperatorPassword.Cost(log2N: 15, r: 8, p: 3))
        #expect(try AlterConfiguration(environment: [:]).demoWeakPasswordHashing == false)
        #expect(try AlterConfiguration(environment: ["ALTER_DEMO_WEAK_PASSWORD_HASHING": "1"]).demoWeakPasswordHashing)
        #expect(throws: ConfigurationError.self) { try AlterConfiguration(environment: ["ALTER_DEMO_WEAK_PASSWORD_HASHING": "yes"]) }
        // A server configured with the setting on, as `serve` would be: still the standard cost
        // (only DemoCommand applies it; e2e/test_portal.py checks the CLI and the demo).
        try await withApp(adjust: { $0.demoWeakPasswordHashing = true }) { app in
            #expect(app.operatorPasswordCost == .standard)
        }
    }

    @Test("ALTER_PORTAL=off leaves /portal out")
    func portalOff() async throws {
        #expect(try AlterConfiguration(environment: ["ALTER_PORTAL": "off"]).portalEnabled == false)
        #expect(throws: ConfigurationError.self) { try AlterConfiguration(environment: ["ALTER_PORTAL": "maybe"]) }
        try await withApp(adjust: { $0.portalEnabled = false }) { app in
            try await app.testing().test(.GET, "/portal/login") { #expect($0.status == .notFound) }
        }
    }
}
