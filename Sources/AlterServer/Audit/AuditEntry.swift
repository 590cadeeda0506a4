import Foundation

/// An audit entry as it is written: the fields of `AuditEvent` (the model the log is read
/// back as) in a plain struct. Every proxied call records one; a Fluent model costs an object
/// per field to make and to free and a cast on every read of a field, which was a few percent
/// of the call's CPU (issue 14). `AuditLog` writes entries, in batches or inside a caller's
/// transaction, with one statement.
struct AuditEntry: Sendable, Equatable {
    var id = UUID.randomV4()
    var appID: UUID
    var grantID: UUID?
    var action: AuditEvent.Action
    var caller: String?
    var agent: String?
    var method: String?
    var host: String?
    var status: Int?
    var at: Date
    var latencyMS: Int?
    /// The app's stated reason; `AuditEvent.maxReasonLength` at most.
    var reason: String?
    var context: [String: String]?

    init(
        appID: UUID, grantID: UUID?, action: AuditEvent.Action, caller: String?, agent: String?, method: String? = nil, host: String? = nil,
        status: Int?, at: Date
    ) {
        self.appID = appID
        self.grantID = grantID
        self.action = action
        self.caller = caller
        self.agent = agent
        self.method = method
        self.host = host
        self.status = status
        self.at = at
    }

    /// The columns `values` fills, in order.
    static let columns = ["id", "app_id", "grant_id", "action", "caller", "agent", "method", "host", "status", "at", "latency_ms", "reason", "context"]

    /// The row's values, bound as Fluent binds the model's fields. `uuidsAsText` (SQLite): the
    /// three ids as the text SQLite stores for a UUID (`SQLiteDirectReads.text(of:)`), without
    /// Foundation's formatting (issue 14); PostgreSQL binds them as `uuid`.
    func values(uuidsAsText: Bool) -> [any Encodable & Sendable] {
        func bind(_ id: UUID) -> any Encodable & Sendable { uuidsAsText ? SQLiteDirectReads.text(of: id) : id }
        return [bind(id), bind(appID), grantID.map(bind) ?? (nil as UUID?), action.rawValue, caller, agent, method, host, status, at, latencyMS, reason, context]
    }
}
