/// A line of a tool's INI, `.npmrc` or TOML file that Keyway's reader does not understand, or understands to be
/// ambiguous. `reason` never quotes the file's text (a value there may be a key); the engine adds the file's path.
package struct LineSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    package let line: Int
    package let reason: String
    package var description: String { "line \(line): \(reason)" }

    package init(line: Int, _ reason: String) {
        self.line = line
        self.reason = reason
    }
}

/// The lines of `text` with their numbers (1-based): split at LF, a CR before the LF removed (CRLF files). A CR
/// anywhere else is refused: one reader takes it for a line break, another for part of a value.
package func numberedLines(_ text: String) throws(LineSyntaxError) -> [(number: Int, text: Substring)] {
    var result: [(number: Int, text: Substring)] = []
    // Split on scalars: `Character` takes CRLF for one character.
    for (index, raw) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        var scalars = String.UnicodeScalarView(raw)
        if scalars.last == "\r" { scalars.removeLast() }
        if scalars.contains("\r") {
            throw LineSyntaxError(
                line: index + 1, "a carriage return that does not end the line (readers differ on what it is)")
        }
        if scalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
            throw LineSyntaxError(line: index + 1, "a control character")
        }
        result.append((index + 1, Substring(String(scalars))))
    }
    return result
}

/// `name` quoted in a message when it cannot be a key (`APIKeyRules.isQuotable`), else described.
package func shownFileName(_ name: some StringProtocol, what: String = "name") -> String {
    let name = String(name)
    return APIKeyRules.isQuotable(name) ? "'\(name)'" : "a \(what) not shown (it could be a key)"
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    package var trimmedBlanks: Substring {
        var s = self
        while let c = s.unicodeScalars.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.unicodeScalars.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
