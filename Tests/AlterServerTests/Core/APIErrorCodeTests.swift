@testable import AlterServer
import Foundation
import NIOHTTP1
import Testing

@Suite("API error codes")
struct APIErrorCodeTests {
    /// `AlterVaultError.Code`'s statics as written in the SDK's source: name, wire code, and
    /// the HTTP status its doc comment names, when it names one.
    static func sdkCodes() throws -> [(name: String, code: String, status: Int?)] {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Sources/AlterVault/AlterVaultError.swift")
        let lines = try String(contentsOf: source, encoding: .utf8).components(separatedBy: "\n")
        let declaration = try Regex(#"public static let (\w+) = Code\(rawValue: "(\w+)"\)"#)
        let statusInComment = try Regex(#"\((\d{3})\)"#)
        var codes: [(String, String, Int?)] = []
        for (index, line) in lines.enumerated() {
            guard let match = try declaration.firstMatch(in: line) else { continue }
            var comment = ""
            var above = index - 1
            while above >= 0, lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("///") {
                comment = lines[above] + comment
                above -= 1
            }
            let status = try statusInComment.firstMatch(in: comment).flatMap { Int(String($0.output[1].substring!)) }
            codes.append((String(match.output[1].substring!), String(match.output[2].substring!), status))
        }
        return codes
    }

    @Test("the Swift SDK knows every code the server sends, by the same name, with the status the server gives it")
    func sdkMatchesServer() throws {
        let sdk = try Self.sdkCodes()
        // Made by the SDK itself when an answer cannot be read; the server never sends it.
        let sdkOnly: Set<String> = ["unexpected_response"]
        #expect(Set(sdk.map(\.code)).subtracting(sdkOnly) == Set(APIError.Code.allCases.map(\.rawValue)))
        for entry in sdk where !sdkOnly.contains(entry.code) {
            let server = try #require(APIError.Code(rawValue: entry.code))
            #expect(entry.name == "\(server)", "the SDK names \(entry.code) \(entry.name)")
            if let status = entry.status {
                #expect(Int(server.status.code) == status, "\(entry.code): the SDK documents \(status)")
            }
        }
    }
}
