/// Which addresses one outbound call may connect to (security review F12). Every outbound
/// call of the vault (token, userinfo, revocation, discovery, JWKS, webhooks, proxy) names
/// its rule, and the outbound client applies it to the address it is about to connect to.
enum AddressRule: Sendable, Hashable {
    /// Public unicast addresses only: the default for anything a provider, an app or a
    /// tenant's DNS can point somewhere.
    case publicOnly
    /// Loopback only: the operator wrote a loopback host into the URL itself
    /// (`http://localhost:4001/hooks`, `http://127.0.0.1:9000/jwks`), a local development setup.
    case loopbackOnly
    /// Any address: the provider or secret is configured for private networks (the sandbox,
    /// `--allow-private-network`), for tests and LANs.
    case anyAddress

    /// The rule for a URL an operator configured (webhook receiver, JWKS): a host that names
    /// this machine (`localhost`, `127.0.0.1`, `[::1]`, and every spelling of those, such as
    /// `2130706433`) may reach loopback and nothing else private; any other host must be public.
    static func configuredURL(host: String) -> AddressRule {
        let host = host.lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") { return .loopbackOnly }
        if let address = NetworkAddress(urlHost: host), address.isLoopback { return .loopbackOnly }
        return .publicOnly
    }

    /// The rule of a provider or secret that may or may not reach private networks.
    static func privateNetwork(allowed: Bool) -> AddressRule { allowed ? .anyAddress : .publicOnly }

    func allows(_ address: NetworkAddress) -> Bool {
        switch self {
        case .publicOnly: !address.isPrivateOrReserved
        case .loopbackOnly: address.isLoopback
        case .anyAddress: true
        }
    }

    /// A resolver's whole answer: every address must be allowed (an answer that mixes a public
    /// and a private address is refused, whichever one a connection would pick), and there
    /// must be at least one.
    func allows(all addresses: [NetworkAddress]) -> Bool {
        !addresses.isEmpty && addresses.allSatisfy(allows)
    }
}
