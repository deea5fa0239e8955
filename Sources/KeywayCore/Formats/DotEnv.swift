/// A dotenv file (`keyway run --env-file`), read as dotenv users expect:
/// - one `NAME=value` a line, optionally after `export `; blank lines and lines starting with `#` are comments;
///   spaces around the name, the `=` and an unquoted value are removed; lines may end in CRLF;
/// - an unquoted value runs to the end of the line, or to a ` #` comment (a `#` not after a space or tab is part of
///   the value, and so is every `=` after the first);
/// - `'single quoted'` is literal; `"double quoted"` knows the escapes `\n`, `\r`, `\t`, `\"`, `\\` and `\$` (any
///   other backslash is kept); both may span lines, and only a comment may follow the closing quote;
/// - no `$VAR` expansion: a value is what the file says.
/// A name is letters, digits and `_`, not starting with a digit; a later line for the same name wins. Errors name
/// the line, never a value.
public enum DotEnv {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let value: String
        /// The line the entry starts on (1-based).
        public let line: Int
    }

    public static func parse(_ bytes: [UInt8]) throws(KeywayError) -> [Entry] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.malformedFile, "It is not valid UTF-8.")
        }
        var parser = Parser(Array(text.unicodeScalars))
        let entries = try parser.entries()
        // A NUL cannot be in an environment variable: the value would reach the program cut short, silently.
        if let bad = entries.first(where: { $0.value.utf8.contains(0) }) {
            throw KeywayError(
                .malformedFile,
                "Line \(bad.line): the value of \(bad.name) holds a NUL character, which no "
                    + "environment variable can hold.")
        }
        return entries
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        var line = 1

        init(_ s: [Unicode.Scalar]) { self.s = s }

        var atEnd: Bool { i >= s.count }
        var current: Unicode.Scalar? { atEnd ? nil : s[i] }

        func error(_ why: String, line: Int? = nil) -> KeywayError {
            KeywayError(.malformedFile, "Line \(line ?? self.line): \(why).")
        }

        mutating func skipBlanks() { while let c = current, c == " " || c == "\t" { i += 1 } }

        /// At a line end (LF, CRLF, or the end of the file): consumes it. False when something else is there.
        mutating func endOfLine() -> Bool {
            if atEnd { return true }
            if s[i] == "\n" {
                i += 1
                line += 1
                return true
            }
            if s[i] == "\r", i + 1 == s.count || s[i + 1] == "\n" {
                i += i + 1 == s.count ? 1 : 2
                line += 1
                return true
            }
            return false
        }

        mutating func skipToLineEnd() {
            while !atEnd, !endOfLine() { i += 1 }
        }

        static func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && c.properties.isAlphabetic) }
        static func isName(_ c: Unicode.Scalar) -> Bool {
            isNameStart(c) || ("0"..."9").contains(c)
        }

        mutating func name() -> String {
            let start = i
            while let c = current, Self.isName(c) { i += 1 }
            var result = ""
            result.unicodeScalars.append(contentsOf: s[start..<i])
            return result
        }

        mutating func entries() throws(KeywayError) -> [Entry] {
            var result: [Entry] = []
            while !atEnd {
                skipBlanks()
                if endOfLine() { continue }
                if current == "#" {
                    skipToLineEnd()
                    continue
                }
                let start = line
                guard let first = current, Self.isNameStart(first) else {
                    throw error("expected NAME=value (a name is letters, digits and _, not starting with a digit)")
                }
                var name = name()
                if name == "export", let c = current, c == " " || c == "\t" {
                    skipBlanks()
                    guard let next = current, Self.isNameStart(next) else {
                        throw error("expected a name after export")
                    }
                    name = self.name()
                }
                skipBlanks()
                guard current == "=" else {
                    throw error("expected = after \(name) (a name is letters, digits and _, not starting with a digit)")
                }
                i += 1
                skipBlanks()
                let value = try self.value()
                result.append(Entry(name: name, value: value, line: start))
            }
            return result
        }

        mutating func value() throws(KeywayError) -> String {
            var value = ""
            switch current {
            case "'", "\"":
                let quote = current!
                let opened = line
                i += 1
                while true {
                    guard let c = current else {
                        throw error(
                            "the value's \(quote == "'" ? "single" : "double") quote is never closed", line: opened)
                    }
                    i += 1
                    if c == quote { break }
                    if c == "\n" { line += 1 }
                    if c == "\r", current == "\n" { continue }  // CRLF inside a quoted value is a newline
                    if quote == "\"", c == "\\", let next = current {
                        let escapes: [Unicode.Scalar: Unicode.Scalar] = [
                            "n": "\n", "r": "\r", "t": "\t", "\"": "\"", "\\": "\\", "$": "$",
                        ]
                        if let replacement = escapes[next] {
                            value.unicodeScalars.append(replacement)
                            i += 1
                            continue
                        }
                    }
                    value.unicodeScalars.append(c)
                }
                skipBlanks()
                if current == "#" {
                    skipToLineEnd()
                } else if !endOfLine() {
                    throw error("only a comment may follow the closing quote")
                }
            default:
                var previousBlank = i > 0 && (s[i - 1] == " " || s[i - 1] == "\t")
                while let c = current {
                    if c == "\n" || (c == "\r" && (i + 1 == s.count || s[i + 1] == "\n")) { break }
                    if c == "#", previousBlank {
                        while let d = current, d != "\n" { i += 1 }
                        break
                    }
                    previousBlank = c == " " || c == "\t"
                    value.unicodeScalars.append(c)
                    i += 1
                }
                _ = endOfLine()
                while let last = value.unicodeScalars.last, last == " " || last == "\t" {
                    value.unicodeScalars.removeLast()
                }
            }
            return value
        }
    }
}
