import Foundation

/// Business hours: the weekdays and the time of day (`start` inclusive, `end` exclusive,
/// minutes since midnight) in an IANA time zone, in which calls are allowed.
struct TimeWindow: Sendable, Equatable {
    static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    let timeZone: TimeZone
    /// 1 (Sunday) … 7 (Saturday), as `Calendar` counts.
    let weekdays: Set<Int>
    let start: Int
    let end: Int

    init(timeZone name: String, weekdays: [String]?, start: String, end: String) throws(PolicyCondition.Invalid) {
        // Only region names (Europe/Paris) and UTC: abbreviations like "EST" are ambiguous.
        guard name == "UTC" || (name.contains("/") && TimeZone.knownTimeZoneIdentifiers.contains(name)), let zone = TimeZone(identifier: name) else {
            throw .init("time_window.time_zone must be an IANA time zone such as Europe/Paris or UTC.")
        }
        var days = Set<Int>()
        for day in weekdays ?? Self.weekdayNames {
            guard let index = Self.weekdayNames.firstIndex(of: day.lowercased()) else {
                throw .init("time_window.weekdays takes \(Self.weekdayNames.joined(separator: ", ")).")
            }
            days.insert(index + 1)
        }
        guard !days.isEmpty else { throw .init("time_window.weekdays may not be empty.") }
        guard let from = Self.minutes(start), let to = Self.minutes(end), from < to else {
            throw .init("time_window.start and end must be HH:MM (00:00 to 24:00) with start before end.")
        }
        self.timeZone = zone
        self.weekdays = days
        self.start = from
        self.end = to
    }

    /// Whether `date` falls inside the window, read on the zone's wall clock.
    func contains(_ date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        guard let weekday = parts.weekday, let hour = parts.hour, let minute = parts.minute else { return false }
        let now = hour * 60 + minute
        return weekdays.contains(weekday) && now >= start && now < end
    }

    private static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy({ $0.isASCII && $0.isNumber }) }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), minute < 60, hour < 24 || (hour == 24 && minute == 0)
        else { return nil }
        return hour * 60 + minute
    }
}
