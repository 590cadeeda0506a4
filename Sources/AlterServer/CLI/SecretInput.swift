import Foundation

/// Secrets handed to a command: from standard input or a file, never from argv, where `ps`
/// and shell history would show them (security review F17).
enum SecretInput {
    /// The text of `path` (`-` or nil: standard input), without its trailing line break.
    static func read(path: String?, what: String) throws -> String {
        let data: Data
        if let path, path != "-" {
            guard let contents = FileManager.default.contents(atPath: path) else { throw CommandError("cannot read \(what) from \(path)") }
            data = contents
        } else {
            if isatty(STDIN_FILENO) == 1 { FileHandle.standardError.write(Data("\(what.prefix(1).uppercased() + what.dropFirst()) (then Ctrl-D): ".utf8)) }
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
