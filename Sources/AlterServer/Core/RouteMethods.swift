import Vapor

/// The methods the app serves at a path, for RFC 9110 §15.5.6: a known path asked with another
/// method answers `405 Method Not Allowed` with `Allow`, not `404` (which says the path does not exist).
enum RouteMethods {
    /// Empty when no route matches the path with any method.
    static func allowed(at path: String, in routes: Routes) -> [String] {
        let segments = path.split(separator: "/").map(String.init)
        var methods = Set<String>()
        for route in routes.all where matches(route.path, segments) {
            methods.insert(route.method.rawValue)
            // Vapor answers HEAD with the GET route.
            if route.method == .GET { methods.insert("HEAD") }
        }
        return methods.sorted()
    }

    static func matches(_ pattern: [PathComponent], _ segments: [String]) -> Bool {
        for (index, component) in pattern.enumerated() {
            switch component {
            case .catchall: return segments.count > index
            case .constant(let value): guard index < segments.count, segments[index] == value else { return false }
            case .parameter, .anything: guard index < segments.count else { return false }
            }
        }
        return pattern.count == segments.count
    }
}
