import Foundation

/// Reads `a.b.0.c` style paths out of decoded JSON; in an array, `key=value` picks the first
/// element whose `key` is `value` (DocuSign's `accounts.is_default=true.base_uri`).
enum JSONPath {
    static func value(at path: String, in object: Any) -> Any? {
        var current: Any? = object
        for component in path.split(separator: ".") {
            if let dictionary = current as? [String: Any] {
                current = dictionary[String(component)]
            } else if let array = current as? [Any], let index = Int(component), array.indices.contains(index) {
                current = array[index]
            } else if let array = current as? [Any], let equals = component.firstIndex(of: "=") {
                let key = String(component[..<equals])
                let wanted = String(component[component.index(after: equals)...])
                current = array.first { element in
                    let found = (element as? [String: Any])?[key]
                    if wanted == "true" || wanted == "false", !(found is String) { return (found as? Bool) == (wanted == "true") }
                    return found.flatMap { string(at: "", in: $0) } == wanted
                }
            } else {
                return nil
            }
        }
        return current
    }

    static func string(at path: String, in object: Any) -> String? {
        switch value(at: path, in: object) {
        case let string as String: string
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }
}
