import Fluent
import FluentKit
import Foundation

/// Failed sign-ins, counted in the database so the limit holds across every instance that
/// shares it: at most `perAccount` failures for one email and `perAddress` from one client
/// address in `window`. While either is reached, sign-in is refused before the password is
/// checked (the KDF does not run), and the answer says when to try again.
struct LoginThrottle {
    static let perAccount = 5
    static let perAddress = 30
    static let window: TimeInterval = 15 * 60

    let db: any Database
    let now: Date

    /// Seconds until the next attempt is allowed, or nil when one is allowed now.
    func retryAfter(email: String, address: String?) async throws -> TimeInterval? {
        let since = now.addingTimeInterval(-Self.window)
        var waits: [TimeInterval] = []
        for (key, limit) in keys(email: email, address: address) {
            let recent = try await OperatorLoginFailure.query(on: db).filter(\.$key == key).filter(\.$at > since).sort(\.$at, .descending)
                .limit(limit).all()
            // The oldest of the last `limit` failures leaves the window first.
            if recent.count >= limit, let oldest = recent.last { waits.append(oldest.at.addingTimeInterval(Self.window).timeIntervalSince(now)) }
        }
        return waits.max().map { max($0, 1) }
    }

    func recordFailure(email: String, address: String?) async throws {
        for (key, _) in keys(email: email, address: address) {
            try await OperatorLoginFailure(key: key, at: now).create(on: db)
        }
        // Old rows are no longer counted; removing them here keeps the table small.
        try await OperatorLoginFailure.query(on: db).filter(\.$at < now.addingTimeInterval(-Self.window)).delete()
    }

    /// A successful sign-in clears the account's failures (not the address's).
    func recordSuccess(email: String) async throws {
        try await OperatorLoginFailure.query(on: db).filter(\.$key == "email:" + email).delete()
    }

    private func keys(email: String, address: String?) -> [(String, Int)] {
        var keys = [("email:" + email, Self.perAccount)]
        if let address { keys.append(("ip:" + address, Self.perAddress)) }
        return keys
    }
}

/// One failed sign-in: `email:…` or `ip:…`, and when.
final class OperatorLoginFailure: Model, @unchecked Sendable {
    static let schema = "operator_login_failures"

    @ID(key: .id) var id: UUID?
    @Field(key: "key") var key: String
    @Field(key: "at") var at: Date

    init() {}

    init(key: String, at: Date) {
        self.id = UUID()
        self.key = key
        self.at = at
    }

    struct Migration: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(OperatorLoginFailure.schema)
                .id()
                .field("key", .string, .required)
                .field("at", .datetime, .required)
                .create()
        }

        func revert(on database: any Database) async throws {
            try await database.schema(OperatorLoginFailure.schema).delete()
        }
    }
}
