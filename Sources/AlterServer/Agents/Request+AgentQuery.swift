import Foundation
import Vapor

extension Request {
    /// An integer query parameter, nil when absent; anything else present is refused
    /// (`?limit=ten` must not silently mean the default).
    func integerQuery(_ name: String) throws -> Int? {
        guard let raw = query[String.self, at: name] else { return nil }
        guard let value = Int(raw) else { throw APIError.invalidRequest("\(name) must be an integer.") }
        return value
    }

    /// `true` or `false`, nil when absent.
    func booleanQuery(_ name: String) throws -> Bool? {
        guard let raw = query[String.self, at: name] else { return nil }
        switch raw {
        case "true": return true
        case "false": return false
        default: throw APIError.invalidRequest("\(name) must be true or false.")
        }
    }
}
