import Foundation
import Logging

/// `LOG_FORMAT=json`: one JSON object per line on standard output — `ts`, `level`, `label`,
/// `message`, and the metadata (`request-id` on every line of a request) — for log shippers
/// that parse lines instead of reading a terminal's text.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        FileHandle.standardOutput.write(Self.line(event, label: label, metadata: metadata, provided: metadataProvider?.get() ?? [:]))
    }

    /// The encoded line; fields of the event's own metadata win over the logger's.
    static func line(_ event: LogEvent, label: String, metadata: Logger.Metadata, provided: Logger.Metadata, at date: Date = Date()) -> Data {
        var fields = metadata.merging(provided) { $1 }.merging(event.metadata ?? [:]) { $1 }.mapValues(Self.json)
        fields["ts"] = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["message"] = event.message.description
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return data + Data("\n".utf8)
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }
}
