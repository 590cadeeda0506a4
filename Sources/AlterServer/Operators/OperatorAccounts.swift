import Fluent
import FluentKit
import Foundation
import Vapor

/// Operator accounts, for `alter operators`, `alter demo` and the portal's sign-in and setup
/// pages: one implementation of creating an account, setting its password through the
/// one-time setup link, and checking a sign-in (throttled by `LoginThrottle`).
struct OperatorAccounts {
    let application: Application
    let db: any Database

    /// A setup link is valid this long, once.
    static let setupLifetime: TimeInterval = 24 * 3600

    enum Failure: Error, Equatable, CustomStringConvertible {
        case invalidEmail
        case emailTaken
        case password(String)
        case setupLinkInvalid
        /// Wrong email or password (not told apart).
        case wrongCredentials
        case throttled(retryAfter: TimeInterval)

        var description: String {
            switch self {
            case .invalidEmail: "Enter an email address like ops@example.com."
            case .emailTaken: "An operator with this email exists."
            case .password(let rule): rule
            case .setupLinkInvalid: "This setup link is not valid: it was used already or has expired. Ask for a new one (`alter operators create --email … --reset`)."
            case .wrongCredentials: "Wrong email or password."
            case .throttled(let seconds): "Too many failed sign-ins. Try again in \(Int((seconds / 60).rounded(.up))) minute(s)."
            }
        }
    }

    /// Lower-cased, trimmed; nil unless it has the shape `local@domain` within 254 characters.
    static func normalizedEmail(_ raw: String) -> String? {
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            email.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "<" && $0 != ">" && $0 != "\"" })
        else { return nil }
        return email
    }

    struct Created {
        let account: Operator
        /// The one-time setup link, when no password was given.
        let setupLink: String?
    }

    /// Creates an operator with `password`, or, without one, a setup link to choose it.
    /// `reset`: an existing operator gets a new setup link instead (its sessions end).
    func create(email raw: String, password: String?, reset: Bool = false) async throws -> Created {
        guard let email = Self.normalizedEmail(raw) else { throw Failure.invalidEmail }
        if let password { do { try OperatorPassword.check(password, email: email) } catch { throw Failure.password(error.description) } }
        let existing = try await Operator.query(on: db).filter(\.$email == email).first()
        guard existing == nil || reset else { throw Failure.emailTaken }
        let account = existing ?? Operator(email: email)
        var link: String?
        if let password {
            account.passwordHash = try await Self.hash(password, on: application)
            account.setupTokenHash = nil
            account.setupExpiresAt = nil
        } else {
            // A reset may follow a leaked password: the old one stops working now.
            account.passwordHash = nil
            let token = SecretToken.generate(prefix: "ops_setup_")
            account.setupTokenHash = SecretToken.hash(token)
            account.setupExpiresAt = application.clock.now().addingTimeInterval(Self.setupLifetime)
            link = application.alterConfiguration.publicURL + "/portal/setup?token=" + token
        }
        do {
            try await db.transaction { db in
                try await account.save(on: db)
                if existing != nil { try await OperatorSession.query(on: db).filter(\.$signedIn.$id == account.requireID()).delete() }
            }
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw Failure.emailTaken  // created meanwhile by another process
        }
        return Created(account: account, setupLink: link)
    }

    /// The operator a setup token belongs to, while it is unused and unexpired.
    func setupAccount(token: String) async throws -> Operator {
        guard SecretToken.isWellFormed(token, prefix: "ops_setup_"),
            let account = try await Operator.query(on: db).filter(\.$setupTokenHash == SecretToken.hash(token)).first(),
            let expires = account.setupExpiresAt, expires > application.clock.now()
        else { throw Failure.setupLinkInvalid }
        return account
    }

    /// Sets the password of the setup token's operator and spends the token (a conditional
    /// update: a link opened twice sets one password).
    func completeSetup(token: String, password: String) async throws -> Operator {
        let account = try await setupAccount(token: token)
        do { try OperatorPassword.check(password, email: account.email) } catch { throw Failure.password(error.description) }
        let hash = try await Self.hash(password, on: application)
        try await Operator.query(on: db).filter(\.$id == account.requireID()).filter(\.$setupTokenHash == SecretToken.hash(token))
            .set(\.$passwordHash, to: hash).set(\.$setupTokenHash, to: nil).set(\.$setupExpiresAt, to: nil).update()
        guard let updated = try await Operator.find(account.requireID(), on: db), updated.passwordHash == hash else { throw Failure.setupLinkInvalid }
        return updated
    }

    /// Checks a sign-in. Throttled before any password work; a failure is counted for the
    /// email and the client address whether or not the email exists.
    func authenticate(email raw: String, password: String, address: String?) async throws -> Operator {
        let email = Self.normalizedEmail(raw) ?? raw.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        let throttle = LoginThrottle(db: db, now: application.clock.now())
        if let wait = try await throttle.retryAfter(email: email, address: address) { throw Failure.throttled(retryAfter: wait) }
        let account = try await Operator.query(on: db).filter(\.$email == email).first()
        let stored = account?.passwordHash ?? OperatorPassword.decoy
        let matches = try await application.threadPool.runIfActive { OperatorPassword.verify(password, against: stored) }
        guard let account, account.passwordHash != nil, matches else {
            try await throttle.recordFailure(email: email, address: address)
            throw Failure.wrongCredentials
        }
        try await throttle.recordSuccess(email: email)
        account.lastSignInAt = application.clock.now()
        try await account.update(on: db)
        return account
    }

    /// scrypt off the event loop: it takes tens of milliseconds and 32 MiB by design.
    static func hash(_ password: String, on application: Application) async throws -> String {
        let cost = application.operatorPasswordCost
        return try await application.threadPool.runIfActive { try OperatorPassword.hash(password, cost: cost) }
    }
}

extension Application {
    private enum PasswordCostKey: StorageKey { typealias Value = OperatorPassword.Cost }

    /// The scrypt cost of new password hashes; tests lower it (verification reads the cost
    /// stored with each hash).
    var operatorPasswordCost: OperatorPassword.Cost {
        get { storage[PasswordCostKey.self] ?? .standard }
        set { storage[PasswordCostKey.self] = newValue }
    }
}
