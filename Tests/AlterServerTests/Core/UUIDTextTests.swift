@testable import AlterServer
import Foundation
import Testing

@Suite("UUID text")
struct UUIDTextTests {
    @Test("the text is Foundation's, in both cases", arguments: (0..<200).map { _ in UUID() } + [
        UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
        UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255)),
    ])
    func formats(id: UUID) {
        #expect(id.uppercasedString == id.uuidString)
        #expect(id.lowercasedString == id.uuidString.lowercased())
        #expect(UUID(text: id.lowercasedString) == id)
        #expect(UUID(text: id.uppercasedString) == id)
    }

    @Test("the 8-4-4-4-12 form parses as Foundation parses it, in either case", arguments: [
        "e621e1f8-c36c-495a-93fc-0c247a3e6e5f", "E621E1F8-C36C-495A-93FC-0C247A3E6E5F", "e621E1F8-c36C-495a-93Fc-0c247A3e6e5F",
        "ffffffff-ffff-ffff-ffff-ffffffffffff", "00000000-0000-0000-0000-000000000000",
    ])
    func parses(text: String) throws {
        #expect(UUID(text: text) == UUID(uuidString: text))
        #expect(try #require(UUID(text: text)).lowercasedString == text.lowercased())
    }

    /// Foundation on Linux reads the digit pairs with `sscanf`, which also takes a sign, a
    /// `0x` or a hyphen as the start of a pair: `+621e1f8-…` parses as `0621e1f8-…`, so one
    /// grant had several ids. Those are refused here, like every other malformed text.
    @Test("anything else is refused, also what Foundation's sscanf lets through", arguments: [
        "", "-", "e621e1f8c36c495a93fc0c247a3e6e5f", "e621e1f8-c36c-495a-93fc-0c247a3e6e5", "e621e1f8-c36c-495a-93fc-0c247a3e6e5f0",
        "e621e1f8-c36c-495a-93fc-0c247a3e6e5g", "e621e1f8_c36c-495a-93fc-0c247a3e6e5f", "{e621e1f8-c36c-495a-93fc-0c247a3e6e5f}",
        " e621e1f8-c36c-495a-93fc-0c247a3e6e5f", "e621e1f8-c36c-495a-93fc-0c247a3e6e5f ", "e621e1f8-c36c-495a-93fc0-c247a3e6e5f",
        "e621e1f8-c36c-495a-93fc-0c247a3e6e5\u{0}", "e621e1f8-c36c-495a-93fc-0c247a3e6eé", "grant_123",
        "e621e1f8-c36c-495a--3fc-0c247a3e6e5f", "+621e1f8-c36c-495a-93fc-0c247a3e6e5f", "0x21e1f8-c36c-495a-93fc-0c247a3e6e5f",
    ])
    func refuses(text: String) {
        #expect(UUID(text: text) == nil)
    }
}
