@testable import AlterServer
import Foundation
import Testing

@Suite("alter operators", .enabled(if: FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct OperatorsCLITests {
    @Test("an administrator creates operators by setup link or by a password on stdin; bad input stores nothing")
    func createAndList() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }

        let linked = try await alter.run("operators", "create", "--email", "Ops@Example.com")
        #expect(linked.status == 0, "\(linked.error)")
        #expect(linked.output.hasPrefix("http://localhost:4000/portal/setup?token=ops_setup_"))
        let withPassword = try await alter.run(["operators", "create", "--email", "second@example.com", "--password-stdin"], input: "correct horse battery\n")
        #expect(withPassword.status == 0, "\(withPassword.error)")
        #expect(withPassword.output.contains("second@example.com can sign in at http://localhost:4000/portal"))

        for (arguments, input, message) in [
            (["--email", "ops@example.com"], nil, "An operator with this email exists. Use --reset"),
            (["--email", "not-an-email"], nil, "Enter an email address"),
            (["--email", "third@example.com", "--password-stdin"], "short\n", "at least 12 characters"),
            ([], nil, "--email is required"),
        ] as [([String], String?, String)] {
            let result = try await alter.run(["operators", "create"] + arguments, input: input)
            #expect(result.status != 0)
            #expect(result.error.contains(message), "\(result.error)")
        }
        let list = try await alter.run("operators", "list")
        #expect(list.output.split(separator: "\n").map { $0.split(separator: " ").first ?? "" } == ["ops@example.com", "second@example.com"])
        #expect(list.output.contains("ops@example.com  setup pending") && list.output.contains("second@example.com  active"))
        #expect(try await alter.run("operators", "sign-out", "--email", "second@example.com").output.contains("Ended 0 session(s)"))
    }
}
