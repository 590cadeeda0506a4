@testable import AlterServer
import Foundation
import Testing

@Suite("One address classifier for origins, custom providers and the proxy")
struct NetworkAddressTests {
    @Test("strict literals parse; other spellings of an address do not", arguments: [
        ("127.0.0.1", "127.0.0.1"), ("8.8.8.8", "8.8.8.8"), ("::1", "::1"), ("[::1]", "::1"), ("0:0::1", "::1"),
        ("2001:DB8::1", "2001:db8::1"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), ("fe80::", "fe80::"),
    ])
    func literals(text: String, canonical: String) throws {
        #expect(try #require(NetworkAddress(literal: text)).description == canonical)
    }

    @Test("not a strict literal", arguments: ["2130706433", "0x7f.1", "127.1", "0177.0.0.1", "127.000.0.1", "1.2.3", "256.0.0.1", "example.com", "", "::g", "1.2.3.4.5", "[::1"])
    func notLiterals(text: String) {
        #expect(NetworkAddress(literal: text) == nil)
    }

    @Test("a URL host means what inet_aton and browsers make of it", arguments: [
        ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"), ("1.2.3", "1.2.0.3"), ("0x7F.0.0.1", "127.0.0.1"), ("127.0.0.1.", "127.0.0.1"),
        ("10.0.0.1", "10.0.0.1"), ("[::ffff:a9fe:a9fe]", "::ffff:a9fe:a9fe"),
    ])
    func urlHosts(host: String, meaning: String) throws {
        #expect(try #require(NetworkAddress(urlHost: host)).description == meaning)
    }

    @Test("a host name is no address", arguments: ["example.com", "localhost", "0xdead.example.com", "08.0.0.1", "4294967296", "1.2.3.256", "1.2.65536", "a.1"])
    func hostNames(host: String) {
        #expect(NetworkAddress(urlHost: host) == nil)
    }

    @Test("private, loopback and reserved addresses", arguments: [
        "0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", "127.255.0.9", "169.254.169.254", "172.16.0.1", "172.31.255.255",
        "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.1", "198.51.100.7", "203.0.113.9",
        "224.0.0.1", "240.0.0.1", "255.255.255.255",
        "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::7f00:1", "::127.0.0.1", "::ff:1", "::8.8.8.8",
        "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::8.8.8.8", "2002:7f00:1::", "2002:a9fe:a9fe::1",
        "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "fec0::1", "ff02::1", "100::1", "2001:db8::1", "2001:0:4136:e378::1",
    ])
    func reserved(text: String) throws {
        let address = try #require(NetworkAddress(literal: text))
        #expect(address.isPrivateOrReserved)
        #expect(!AddressRule.publicOnly.allows(address))
    }

    @Test("public addresses", arguments: [
        "8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.15.0.1", "172.32.0.1", "192.0.1.1", "192.169.0.1", "198.20.0.1",
        "223.255.255.255", "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
    ])
    func publicAddresses(text: String) throws {
        let address = try #require(NetworkAddress(literal: text))
        #expect(!address.isPrivateOrReserved)
        #expect(AddressRule.publicOnly.allows(address))
    }

    @Test("loopback, in every form", arguments: [("127.0.0.1", true), ("127.8.9.10", true), ("::1", true), ("::ffff:127.0.0.1", true), ("10.0.0.1", false), ("::2", false), ("::", false)])
    func loopback(text: String, isLoopback: Bool) throws {
        #expect(try #require(NetworkAddress(literal: text)).isLoopback == isLoopback)
    }

    @Test("a resolver answer of any other length is no address", arguments: [[], [1, 2, 3], Array(repeating: 1, count: 5), Array(repeating: 0, count: 17)] as [[UInt8]])
    func oddBytes(bytes: [UInt8]) {
        #expect(NetworkAddress(bytes: bytes) == nil)
    }

    @Test("a custom provider URL on a private host, in any spelling, is private", arguments: [
        ("https://localhost/x", true), ("https://a.localhost/x", true), ("https://127.0.0.1/", true), ("https://2130706433/", true),
        ("https://0x7f000001/", true), ("https://127.1/", true), ("https://[::1]/", true), ("https://[0:0:0:0:0:0:0:1]/", true),
        ("https://[::127.0.0.1]/", true), ("https://[::ffff:7f00:1]/", true), ("https://198.18.0.1/", true), ("https://169.254.169.254/", true),
        ("https://[fd00::1]/", true), ("https://idp.example.com/authorize", false), ("https://8.8.8.8/", false), ("https://[2606:4700::1]/", false),
    ])
    func customProviderHosts(url: String, isPrivate: Bool) {
        #expect(CustomProviderInput.isPrivate(url: url) == isPrivate)
    }
}
