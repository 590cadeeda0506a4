import Foundation
import Vapor

/// The address a call comes from, as the IP allow-list sees it: the connection's peer, or,
/// when the peer is one of `ALTER_TRUSTED_PROXIES` (default: loopback, where a reverse proxy
/// on the same host connects from), the last address in `X-Forwarded-For` that is not itself
/// a trusted proxy. Nil when no address can be told (then an allow-list denies).
enum CallerAddress {
    static func of(_ request: Request) -> NetworkAddress? {
        guard let peerText = request.remoteAddress?.ipAddress, let peer = NetworkAddress(literal: peerText) else { return nil }
        let trusted = request.application.alterConfiguration.trustedProxies
        return resolve(peer: peer, peerText: peerText, forwardedFor: request.headers[.xForwardedFor], trusted: trusted)
    }

    /// The pure rule, for tests: walks `X-Forwarded-For` from the right while hops are trusted.
    static func resolve(peer: NetworkAddress, peerText: String, forwardedFor: [String], trusted: Set<String>) -> NetworkAddress? {
        guard trusted.contains(peerText) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var current = peer
        for hop in hops.reversed() {
            guard let address = NetworkAddress(literal: hop) else { return nil }  // a garbled chain tells nothing: deny
            current = address
            if !trusted.contains(hop) { return address }
        }
        return current
    }
}
