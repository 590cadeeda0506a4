@testable import AlterServer
import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import Vapor

/// The pinned outbound client connects to the address it checked (`dnsOverride`), and TLS
/// must still be about the host name: sent as SNI and verified against the certificate
/// (issue 14). Against a real TLS server (NIO SSL) on 127.0.0.1 with a self-signed
/// certificate for `vault-tls.test` made by this test and trusted by the client only.
@Suite("TLS to a pinned address", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
struct OutboundTLSTests {
    static let name = "vault-tls.test"

    @Test("the certificate's name passes with SNI sent; another name resolving to the same address fails verification at once, not retried until the deadline")
    func hostNameVerified() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alter-tls-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-subj", "/CN=\(Self.name)",
            "-addext", "subjectAltName=DNS:\(Self.name)",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        await SecondInstance.exit(of: openssl)
        #expect(openssl.terminationStatus == 0)
        let certificate = try NIOSSLCertificate(file: directory + "/cert.pem", format: .pem)
        let key = try NIOSSLPrivateKey(file: directory + "/key.pem", format: .pem)

        // The server records the name each client asked for (SNI).
        let asked = NIOLockedValueBox<[String?]>([])
        var serverTLS = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        serverTLS.sslContextCallback = { values, promise in
            asked.withLockedValue { $0.append(values.serverHostname) }
            promise.succeed(NIOSSLContextConfigurationOverride())
        }
        let port = try freePort()
        let server = try await Application.make(.testing)
        server.logger.logLevel = .critical
        server.http.server.configuration.tlsConfiguration = serverTLS
        server.get("hello") { _ in "hello over TLS" }
        try await server.asyncBoot()
        try await server.server.start(address: .hostname("127.0.0.1", port: port))

        // Every name resolves to the server's address; the client trusts only this certificate.
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.trustRoots = .certificates([certificate])
        // The vault's own client (token, userinfo, discovery, JWKS, webhooks), trusting this certificate.
        let outbound = OutboundHTTP(
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: ProviderHTTP.ownCallsConfiguration(tls: clientTLS),
            resolver: HostResolver { _ in [NetworkAddress(literal: "127.0.0.1")!] })
        do {
            let right = try await outbound.execute(
                HTTPClientRequest(url: "https://\(Self.name):\(port)/hello"), rule: .loopbackOnly, deadline: .now() + .seconds(10))
            #expect(right.status == .ok)
            #expect(String(buffer: try await right.body.collect(upTo: 1024)) == "hello over TLS")
            #expect(asked.withLockedValue { $0 } == [Self.name])

            // Refused at once by the host-name check, after one handshake that named the wrong host:
            // not retried until the call's 10 s deadline (a token call would hold its lock that long).
            let started = ContinuousClock.now
            let wrong = await #expect(throws: (any Error).self) {
                _ = try await outbound.execute(
                    HTTPClientRequest(url: "https://wrong-name.test:\(port)/hello"), rule: .loopbackOnly, deadline: .now() + .seconds(10))
            }
            let took = ContinuousClock.now - started
            #expect(wrong as? NIOSSLExtraError == .failedToValidateHostname, "\(String(describing: wrong))")
            #expect(took < .seconds(5), "a certificate for another name took \(took) to be reported")
            #expect(asked.withLockedValue { $0 } == [Self.name, "wrong-name.test"])
        } catch {
            await outbound.shutdown()
            await server.server.shutdown()
            try await server.asyncShutdown()
            throw error
        }
        await outbound.shutdown()
        await server.server.shutdown()
        try await server.asyncShutdown()
    }
}
