@testable import AlterServer
import Foundation
import Testing

/// `alter agents …` and `alter agents keys …` as an operator runs them.
@Suite("The alter agents commands", .enabled(if: FileManager.default.isExecutableFile(atPath: AlterProcess.binary)))
struct AgentsCLITests {
    @Test("an operator creates an agent, rotates its key, pauses it and revokes it; bad input changes nothing")
    func lifecycle() async throws {
        let alter = AlterProcess()
        defer { alter.cleanUp() }
        _ = try await alter.run("apps", "create", "--name", "Acme")

        let created = try await alter.run("agents", "create", "--app", "Acme", "--name", "cal-bot", "--display-name", "Calendar bot",
            "--scopes", #"{"sandbox":["calendar.read"]}"#)
        #expect(created.status == 0, "\(created.error)")
        let secret = try #require(created.output.split(separator: "\n").first { $0.hasPrefix("alter_ak_") })
        #expect(ScopedKey.isWellFormed(String(secret)))
        #expect(try await alter.run("agents", "list", "--app", "Acme").output.contains("cal-bot  agent  active  Calendar bot"))

        let keys = try await alter.run("agents", "keys", "list", "--app", "Acme", "--agent", "cal-bot")
        #expect(!keys.output.contains(String(secret)) && keys.output.contains("cal-bot-1"))
        let keyID = String(try #require(keys.output.split(separator: " ").first))
        let last = try await alter.run("agents", "keys", "revoke", "--app", "Acme", "--agent", "cal-bot", "--key", keyID)
        #expect(last.status != 0 && last.error.contains("last_active_key"))
        #expect(try await alter.run("agents", "keys", "create", "--app", "Acme", "--agent", "cal-bot").output.contains("alter_ak_"))
        #expect(try await alter.run("agents", "keys", "deprecate", "--app", "Acme", "--agent", "cal-bot", "--key", keyID).output.contains("deprecated"))
        #expect(try await alter.run("agents", "keys", "revoke", "--app", "Acme", "--agent", "cal-bot", "--key", keyID).output.contains("revoked"))
        // An agent key is not an app key: not listed, not revoked, by `alter keys`.
        #expect(try await alter.run("keys", "list", "--app", "Acme").output.isEmpty)
        #expect(try await alter.run("keys", "revoke", "--key", keyID).error.contains("is an agent key"))

        #expect(try await alter.run("agents", "pause", "--app", "Acme", "--agent", "cal-bot").output.contains("inactive"))
        #expect(try await alter.run("agents", "resume", "--app", "Acme", "--agent", "cal-bot").output.contains("active"))
        #expect(try await alter.run("agents", "delete", "--app", "Acme", "--agent", "cal-bot").output.contains("revoked"))
        #expect(try await alter.run("agents", "list", "--app", "Acme").output.contains("No agents yet"))

        for (arguments, message) in [
            (["agents", "create", "--app", "Acme", "--name", "Bad Name"], "invalid_request"),
            (["agents", "create", "--app", "Acme", "--name", "cal-bot"], "agent_name_exists"),
            (["agents", "create", "--app", "Acme", "--name", "x", "--scopes", "not json"], "--scopes must be JSON"),
            (["agents", "create", "--app", "Acme", "--name", "x", "--type", "robot"], "--type must be agent or service"),
            (["agents", "show", "--app", "Acme", "--agent", "nobody"], "agent_not_found"),
        ] {
            let result = try await alter.run(arguments)
            #expect(result.status != 0 && result.error.contains(message), "\(arguments): \(result.error)")
        }
        #expect(try await alter.run("agents", "list", "--app", "Acme", "--include-revoked").output.split(separator: "\n").count == 1)
    }
}
