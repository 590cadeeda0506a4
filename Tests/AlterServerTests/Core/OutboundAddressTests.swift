@testable import AlterServer
import Fluent
import FluentKit
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor

/// A resolver that knows the test's names (the system resolver knows none of them), counts
/// its lookups, and can change its answer between calls, as a rebinding DNS server would.
/// Other names (the sandbox's `localhost`) go to the system resolver.
final class ScriptedResolver: Sendable {
    let answers = NIOLockedValueBox<[String: [String]]>([:])
    let lookups = NIOLockedValueBox<[String]>([])

    func resolver(ttl: Duration = HostResolver.defaultTTL) -> HostResolver {
        HostResolver(
            lookup: { host in
                self.lookups.withLockedValue { $0.append(host) }
                guard let scripted = self.answers.withLockedValue({ $0[host] }) else { return HostResolver.systemLookup(host) }
                return scripted.compactMap(NetworkAddress.init(literal:))
            }, ttl: ttl)
    }

    func answer(_ host: String, _ addresses: [String]) { answers.withLockedValue { $0[host] = addresses } }
    func lookupCount(_ host: String) -> Int { lookups.withLockedValue { $0.filter { $0 == host }.count } }
}

@Suite("Outbound calls connect only to checked addresses")
struct OutboundAddressTests {
    @Test("an operator's URL may reach loopback only when it names loopback itself", arguments: [
        ("localhost", AddressRule.loopbackOnly), ("LOCALHOST", .loopbackOnly), ("hooks.localhost", .loopbackOnly), ("127.0.0.1", .loopbackOnly),
        ("127.9.9.9", .loopbackOnly), ("::1", .loopbackOnly), ("[::1]", .loopbackOnly), ("2130706433", .loopbackOnly), ("0x7f.1", .loopbackOnly),
        ("0177.0.0.1", .loopbackOnly), ("[::ffff:127.0.0.1]", .loopbackOnly),
        ("10.0.0.1", .publicOnly), ("169.254.169.254", .publicOnly), ("hooks.example.com", .publicOnly), ("localhost.example.com", .publicOnly),
        ("0xa9fea9fe", .publicOnly), ("[fd00::1]", .publicOnly),
    ])
    func configuredURLs(host: String, rule: AddressRule) {
        #expect(AddressRule.configuredURL(host: host) == rule)
    }

    @Test("a resolver answer passes only when every address is allowed", arguments: [
        (AddressRule.publicOnly, ["8.8.8.8"], true), (.publicOnly, ["8.8.8.8", "2606:4700::1111"], true),
        (.publicOnly, ["8.8.8.8", "127.0.0.1"], false), (.publicOnly, ["10.0.0.1"], false), (.publicOnly, ["::ffff:169.254.169.254"], false),
        (.publicOnly, ["64:ff9b::7f00:1"], false), (.publicOnly, [], false),
        (.loopbackOnly, ["127.0.0.1"], true), (.loopbackOnly, ["127.0.0.1", "::1"], true), (.loopbackOnly, ["127.0.0.1", "10.0.0.1"], false),
        (.loopbackOnly, ["8.8.8.8"], false), (.anyAddress, ["10.0.0.1", "127.0.0.1"], true), (.anyAddress, [], false),
    ])
    func answers(rule: AddressRule, addresses: [String], allowed: Bool) throws {
        let parsed = try addresses.map { try #require(NetworkAddress(literal: $0)) }
        #expect(rule.allows(all: parsed) == allowed)
    }

    /// A provider like the sandbox, whose API host is `host` on the test server's port.
    static func provider(_ app: Application, browser: TestBrowser, host: String, id: String, allowsPrivateNetwork: Bool) throws -> String {
        var entry = try #require(app.providerCatalog["sandbox"])
        let port = try #require(URLComponents(string: browser.baseURL)?.port)
        // A provider on the public internet must use https (CatalogRules); its token
        // endpoint is never called here.
        let base = "\(allowsPrivateNetwork ? "http" : "https")://\(host):\(port)"
        entry.id = id
        entry.allowsPrivateNetwork = allowsPrivateNetwork
        entry.revocationURL = nil
        if !allowsPrivateNetwork {
            entry.authorizationURL = base + "/authorize"
            entry.tokenURL = base + "/token"
            entry.userinfo = nil
            entry.issuer = nil
            entry.sendsIssuerParameter = nil
        }
        entry.apiHosts = [base]
        app.providerCatalog = try ProviderCatalog(providers: app.providerCatalog.sorted + [entry])
        return base
    }

    @Test("a proxied call resolves its host once per TTL and connects to the address it checked")
    func pinnedProxyCall() async throws {
        let dns = ScriptedResolver()
        dns.answer("api.pinned.test", ["127.0.0.1"])
        try await withRunningApp(adjust: { $0.hostResolver = dns.resolver() }) { app, browser in
            let base = try Self.provider(app, browser: browser, host: "api.pinned.test", id: "pinned", allowsPrivateNetwork: true)
            let seeded = try await seedApp(app, providers: ["sandbox", "pinned"])
            let grantID = try await storeGrant(app, appID: seeded.id, provider: "pinned", account: "someone@example.com", accessToken: "pinned-token")
            let vault = VaultCalls(browser: browser, key: seeded.key)

            // The system resolver has never heard of api.pinned.test: answers prove the
            // connection went to the address the check saw.
            for _ in 0..<3 {
                let response = try await vault.proxy(["method": "GET", "url": base + "/sandbox/api/calendar/events", "grant_id": grantID])
                #expect(response.status != 502 && response.status != 400)
                #expect(response.headers.first(name: "Alter-Source") == "upstream")
            }
            #expect(dns.lookupCount("api.pinned.test") == 1)
        }
    }

    @Test("when the name's answer changes after its TTL, the next call is checked and sent to the new address, with one lookup a call")
    func rebinding() async throws {
        let dns = ScriptedResolver()
        dns.answer("api.rebind.test", ["127.0.0.1"])
        try await withRunningApp(adjust: { $0.hostResolver = dns.resolver(ttl: .zero) }) { app, browser in
            let base = try Self.provider(app, browser: browser, host: "api.rebind.test", id: "rebind", allowsPrivateNetwork: true)
            let seeded = try await seedApp(app, providers: ["sandbox", "rebind"])
            let grantID = try await storeGrant(app, appID: seeded.id, provider: "rebind", account: "someone@example.com", accessToken: "rebind-token")
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let call: [String: any Sendable] = ["method": "GET", "url": base + "/sandbox/api/calendar/events", "grant_id": grantID]

            // Another server on the same port of 127.0.0.2, which says who it is.
            let port = try #require(URLComponents(string: browser.baseURL)?.port)
            let other = try await Application.make(.testing)
            other.logger.logLevel = .warning
            other.get("sandbox", "api", "calendar", "events") { _ in "the rebound server" }
            try await other.asyncBoot()
            try await other.server.start(address: .hostname("127.0.0.2", port: port))
            func stopOther() async throws {
                await other.server.shutdown()
                try await other.asyncShutdown()
            }

            do {
                let first = try await vault.proxy(call)
                dns.answer("api.rebind.test", ["127.0.0.2"])
                let second = try await vault.proxy(call)

                #expect(first.headers.first(name: "Alter-Source") == "upstream")
                #expect(first.body != "the rebound server")
                #expect(second.body == "the rebound server")
                // One lookup per call: the address checked is the address connected to.
                #expect(dns.lookupCount("api.rebind.test") == 2)
            } catch {
                try await stopOther()
                throw error
            }
            try await stopOther()
        }
    }

    @Test("a public provider's host resolving to a private address (or to none) is refused before anything is sent", arguments: [
        (["10.0.0.7"], 400, "host_not_allowed"), (["8.8.8.8", "127.0.0.1"], 400, "host_not_allowed"), (["::ffff:169.254.169.254"], 400, "host_not_allowed"),
        ([], 502, "upstream_unreachable"),
    ])
    func privateAnswers(addresses: [String], status: Int, code: String) async throws {
        let dns = ScriptedResolver()
        dns.answer("api.internal.test", addresses)
        try await withRunningApp(adjust: { $0.hostResolver = dns.resolver() }) { app, browser in
            let base = try Self.provider(app, browser: browser, host: "api.internal.test", id: "internal", allowsPrivateNetwork: false)
            let seeded = try await seedApp(app, providers: ["sandbox", "internal"])
            let grantID = try await storeGrant(app, appID: seeded.id, provider: "internal", account: "someone@example.com", accessToken: "internal-token")
            let vault = VaultCalls(browser: browser, key: seeded.key)
            let before = try #require(try await vault.sandbox()["api_calls"] as? Int)

            let response = try await vault.proxy(["method": "GET", "url": base + "/sandbox/api/calendar/events", "grant_id": grantID])

            #expect(response.status == status)
            #expect((response.json["error"] as? [String: Any])?["code"] as? String == code)
            #expect(try await vault.sandbox()["api_calls"] as? Int == before)
        }
    }

    @Test("a webhook URL whose name resolves to loopback is not delivered; one that names loopback is")
    func webhookAddresses() async throws {
        let dns = ScriptedResolver()
        dns.answer("hooks.rebind.test", ["127.0.0.1"])
        let receiver = Receiver()
        try await withRunningApp(adjust: { $0.hostResolver = dns.resolver() }, routes: receiver.install) { app, browser in
            let seeded = try await seedApp(app, providers: ["sandbox"])
            let port = try #require(URLComponents(string: browser.baseURL)?.port)
            _ = try await WebhookTests.configure(seeded, url: "http://hooks.rebind.test:\(port)/hooks", app: app)
            _ = try await ConnectFlow(app: app, browser: browser, key: seeded.key).connectGrant()
            let dispatcher = WebhookDispatcher(application: app)

            #expect(try await dispatcher.deliverDue() == 0)
            let refused = try #require(try await WebhookOutbox.query(on: app.db).first())
            #expect(refused.lastError == "address not allowed")
            #expect(receiver.deliveries.withLockedValue { $0.count } == 0)

            _ = try await WebhookTests.configure(seeded, url: "http://127.0.0.1:\(port)/hooks", app: app)
            app.clock = VaultClock(now: { Date().addingTimeInterval(WebhookDispatcher.backoff(afterAttempt: 1) + 1) })
            #expect(try await dispatcher.deliverDue() == 1)
            #expect(receiver.deliveries.withLockedValue { $0.count } == 1)
        }
    }
}
