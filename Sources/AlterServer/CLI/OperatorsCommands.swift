import ConsoleKit
import Fluent
import FluentKit
import Foundation
import Vapor

/// `alter operators create|list|sign-out`: the people who may sign in to the portal.
struct OperatorsCommands: AsyncCommandGroup {
    var help: String { "Create and list portal operators, and end their sessions." }
    var commands: [String: any AnyAsyncCommand] {
        ["create": Create(), "list": List(), "sign-out": SignOut()]
    }

    struct Create: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "email", help: "The operator's email (their sign-in name)") var email: String?
            @Flag(name: "password-stdin", help: "Read the password from standard input instead of printing a setup link") var passwordStdin: Bool
            @Flag(name: "reset", help: "For an existing operator: a new setup link (or password); the old password and their sessions end") var reset: Bool
        }
        var help: String {
            "Creates a portal operator and prints a one-time setup link (valid 24 h), or sets the password read from stdin (--password-stdin)."
        }

        func run(using context: CommandContext, signature: Signature) async throws {
            guard let email = signature.email else { throw CommandError("--email is required") }
            var password: String?
            if signature.passwordStdin {
                // One line; a trailing newline from `echo` or a file is not part of the password.
                let input = FileHandle.standardInput.readDataToEndOfFile()
                password = String(decoding: input, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            }
            let accounts = OperatorAccounts(application: context.application, db: context.application.db)
            let created: OperatorAccounts.Created
            do {
                created = try await accounts.create(email: email, password: password, reset: signature.reset)
            } catch let failure as OperatorAccounts.Failure {
                throw CommandError(failure == .emailTaken ? "\(failure.description) Use --reset to give it a new setup link." : failure.description)
            }
            let portal = context.application.alterConfiguration.publicURL + "/portal"
            if let link = created.setupLink {
                context.console.print(link)
                context.console.output("Setup link for \(created.account.email): open it within 24 hours to choose a password; it works once.", style: .info, newLine: true)
            } else {
                context.console.print("Operator \(created.account.email) can sign in at \(portal)")
            }
        }
    }

    struct List: AsyncCommand {
        struct Signature: CommandSignature {}
        var help: String { "Lists operators: email, whether their password is set, last sign-in." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let all = try await Operator.query(on: context.application.db).sort(\.$email).all()
            if all.isEmpty { context.console.print("No operators yet. Create one with `alter operators create --email …`.") }
            for account in all {
                let state = account.passwordHash == nil ? "setup pending" : "active"
                let last = account.lastSignInAt.map { "last sign-in \($0)" } ?? "never signed in"
                context.console.print("\(account.email)  \(state)  \(last)")
            }
        }
    }

    struct SignOut: AsyncCommand {
        struct Signature: CommandSignature {
            @Option(name: "email", help: "The operator whose sessions end") var email: String?
        }
        var help: String { "Ends every portal session of an operator (e.g. after a lost laptop)." }

        func run(using context: CommandContext, signature: Signature) async throws {
            let db = context.application.db
            guard let raw = signature.email, let email = OperatorAccounts.normalizedEmail(raw),
                let account = try await Operator.query(on: db).filter(\.$email == email).first()
            else { throw CommandError("no operator '\(signature.email ?? "")' (see `alter operators list`)") }
            let sessions = OperatorSessions(db: db, now: context.application.clock.now(), policy: .init(secureCookie: true))
            let count = try await sessions.endAll(of: account)
            context.console.print("Ended \(count) session(s) of \(account.email)")
        }
    }
}
