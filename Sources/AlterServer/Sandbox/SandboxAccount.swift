/// The people a sandbox user can sign in as. Fixed, so tests and demos can name them.
struct SandboxAccount: Sendable, Equatable {
    let id: String
    let email: String
    let name: String

    static let alice = SandboxAccount(id: "sbx-user-alice", email: "alice@sandbox.test", name: "Alice Example")
    static let bob = SandboxAccount(id: "sbx-user-bob", email: "bob@sandbox.test", name: "Bob Example")

    /// In the order the consent page lists them; the first is chosen by default.
    static let all = [alice, bob]

    static func find(email: String) -> SandboxAccount? { all.first { $0.email == email } }
}

/// The fixed calendar `GET /sandbox/api/calendar/events` returns for every account.
struct SandboxCalendarEvent: Codable, Sendable, Equatable {
    let id: String
    let title: String
    let start: String
    let end: String

    static let samples = [
        SandboxCalendarEvent(id: "evt_1", title: "Team stand-up", start: "2030-01-07T09:00:00Z", end: "2030-01-07T09:15:00Z"),
        SandboxCalendarEvent(id: "evt_2", title: "Design review", start: "2030-01-07T13:00:00Z", end: "2030-01-07T14:00:00Z"),
        SandboxCalendarEvent(id: "evt_3", title: "Dentist", start: "2030-01-08T08:30:00Z", end: "2030-01-08T09:00:00Z"),
    ]
}
