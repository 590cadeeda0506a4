import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Why an outbound call was not made; nothing was sent.
struct OutboundRefusal: Error, Equatable, CustomStringConvertible {
    enum Reason: Equatable, Sendable {
        /// The host is, or resolves to, an address its `AddressRule` does not allow.
        case addressNotAllowed
        /// The host has no address right now (retryable).
        case unresolvable
        case invalidURL
    }
    let reason: Reason
    let host: String

    var description: String {
        switch reason {
        case .addressNotAllowed: "\(host) resolves to a private or reserved address"
        case .unresolvable: "\(host) could not be resolved"
        case .invalidURL: "the URL has no host"
        }
    }
}

/// Where a call may go: the URL's host and the address it was checked at (nil for a host
/// written as a strict address literal, which is connected to as written).
struct CheckedDestination: Sendable, Hashable {
    let host: String
    let address: NetworkAddress?
}

/// The vault's outbound HTTP client: every call names its `AddressRule`, the host is
/// resolved once (answers cached, see `HostResolver`), every address of the answer is
/// checked against the rule, and the connection goes to the checked address, so a DNS
/// answer that changes between the check and the connect (rebinding) cannot move the call
/// (security review F12). TLS still sends and verifies the host name: AsyncHTTPClient's
/// `dnsOverride` changes only where the socket connects.
///
/// `dnsOverride` is per client, so there is one client per (host, address), kept while it is
/// used; a client replaced or evicted is shut down once no call can still be on it.
final class OutboundHTTP: Sendable {
    static let maxPinnedClients = 64
    /// Longer than any outbound call's deadline (the proxy's 30 s, body included).
    static let retirementDelay: Duration = .seconds(120)

    private struct State {
        var pinned: [CheckedDestination: (client: HTTPClient, lastUsed: ContinuousClock.Instant)] = [:]
        var retired: [(client: HTTPClient, since: ContinuousClock.Instant)] = []
        var isShutDown = false
    }

    private let eventLoopGroup: any EventLoopGroup
    private let configuration: HTTPClient.Configuration
    private let resolutions: ResolutionCache
    /// For hosts written as a strict address literal: AsyncHTTPClient connects to exactly that.
    private let direct: HTTPClient
    private let state = NIOLockedValueBox(State())

    init(eventLoopGroup: any EventLoopGroup, configuration: HTTPClient.Configuration, resolver: HostResolver) {
        self.eventLoopGroup = eventLoopGroup
        self.configuration = configuration
        self.resolutions = ResolutionCache(resolver: resolver)
        self.direct = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
    }

    /// Sends `request` to the address its host was checked at. Throws `OutboundRefusal`
    /// before anything is sent when the rule refuses the host.
    func execute(_ request: HTTPClientRequest, rule: AddressRule, deadline: NIODeadline) async throws -> HTTPClientResponse {
        try await execute(request, to: check(request.url, rule: rule), deadline: deadline)
    }

    /// Sends `request` (whose URL has `destination`'s host) to the address checked earlier
    /// by `check(_:rule:)`, without resolving again.
    func execute(_ request: HTTPClientRequest, to destination: CheckedDestination, deadline: NIODeadline) async throws -> HTTPClientResponse {
        try await client(for: destination).execute(request, deadline: deadline)
    }

    /// Sends `request` and reads its whole body (at most `maxBytes`), all within `timeout`.
    func collect(_ request: HTTPClientRequest, rule: AddressRule, timeout: TimeAmount, upTo maxBytes: Int) async throws -> CollectedResponse {
        let client = try await client(for: check(request.url, rule: rule))
        return try await client.collect(request, timeout: timeout, upTo: maxBytes)
    }

    /// Resolves `url`'s host (cached) and checks every address of the answer against `rule`.
    func check(_ url: String, rule: AddressRule) async throws(OutboundRefusal) -> CheckedDestination {
        // The same host AsyncHTTPClient derives from the URL, so the override applies to it.
        guard let host = URL(string: url)?.host, !host.isEmpty else { throw OutboundRefusal(reason: .invalidURL, host: "") }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let literal = NetworkAddress(literal: bare) {
            guard rule.allows(literal) else { throw OutboundRefusal(reason: .addressNotAllowed, host: bare) }
            return CheckedDestination(host: host, address: nil)
        }
        let addresses: [NetworkAddress]
        if let numeric = NetworkAddress(urlHost: bare) {
            // `2130706433`, `0x7f.1`: getaddrinfo would read these as addresses, so they are.
            addresses = [numeric]
        } else {
            do {
                addresses = try await resolutions.addresses(of: bare.lowercased())
            } catch {
                throw OutboundRefusal(reason: .unresolvable, host: bare)
            }
        }
        guard !addresses.isEmpty else { throw OutboundRefusal(reason: .unresolvable, host: bare) }
        guard rule.allows(all: addresses) else { throw OutboundRefusal(reason: .addressNotAllowed, host: bare) }
        // One address, no happy eyeballs across the answer: IPv4 first, as most servers
        // (and this one, on 127.0.0.1) listen there; an IPv6-only host gets its first AAAA.
        return CheckedDestination(host: host, address: addresses.first(where: \.isIPv4) ?? addresses[0])
    }

    /// The client that connects to the destination's checked address.
    private func client(for pin: CheckedDestination) -> HTTPClient {
        guard let address = pin.address else { return direct }
        let now = ContinuousClock.now
        var expired: [HTTPClient] = []
        let client = state.withLockedValue { state -> HTTPClient in
            if state.isShutDown { return direct }
            expired = state.retired.filter { now - $0.since > Self.retirementDelay }.map(\.client)
            state.retired.removeAll { now - $0.since > Self.retirementDelay }
            if let existing = state.pinned[pin] {
                state.pinned[pin]?.lastUsed = now
                return existing.client
            }
            if state.pinned.count >= Self.maxPinnedClients, let oldest = state.pinned.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                state.pinned[oldest.key] = nil
                state.retired.append((oldest.value.client, now))
            }
            var configuration = configuration
            configuration.dnsOverride = [pin.host: address.description]
            let client = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
            state.pinned[pin] = (client, now)
            return client
        }
        if !expired.isEmpty {
            Task { for client in expired { try? await client.shutdown() } }
        }
        return client
    }

    /// Shuts every client down (with the application).
    func shutdown() async {
        let clients = state.withLockedValue { state -> [HTTPClient] in
            state.isShutDown = true
            defer { state.pinned = [:]; state.retired = [] }
            return state.pinned.values.map(\.client) + state.retired.map(\.client)
        }
        for client in clients + [direct] { try? await client.shutdown() }
    }
}
