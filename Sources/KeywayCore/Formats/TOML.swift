/// A strict subset of TOML 1.0 for tools' credentials files (the Stripe CLI's `config.toml`): a small reader here
/// rather than a TOML package, since the CLI starts once per key and needs only what those files hold, and since a
/// subset reader refuses what it does not understand instead of reading it some other way.
///
/// Read: `key = value` lines with a bare (`A-Za-z0-9_-`) or quoted key; `[table]` headers with such a name; values
/// that are basic strings (`"..."` with TOML's escapes), literal strings (`'...'`), integers (decimal, `_` between
/// digits) and booleans; `#` comments, blank lines, LF or CRLF line ends. Refused, naming the line: dotted keys and
/// table names, arrays of tables, multi-line strings, arrays, inline tables, floats, dates and times, a key or table
/// written twice (TOML forbids both), and anything else. Errors never quote the file's text.
///
/// The document is returned as `JSON`: the root table's keys, then each table as an object.
package enum TOML {
    package static func parse(_ text: String) throws(LineSyntaxError) -> JSON {
        var root: [(String, JSON)] = []
        var tables: [(String, [(String, JSON)])] = []
        var rootKeys: [String: Int] = [:]
        var tableLines: [String: Int] = [:]
        var keys: [String: Int] = [:]
        for (number, raw) in try numberedLines(text) {
            var scanner = Scanner(text: Array(raw.unicodeScalars), line: number)
            scanner.skipBlanks()
            if scanner.atEndOrComment { continue }
            if scanner.peek == "[" {
                scanner.index += 1
                if scanner.peek == "[" {
                    throw scanner.error("an array of tables ([[...]]), which Keyway does not read")
                }
                scanner.skipBlanks()
                let name = try scanner.key()
                scanner.skipBlanks()
                if scanner.peek == "." { throw scanner.error("a dotted table name, which Keyway does not read") }
                guard scanner.peek == "]" else { throw scanner.error("a table header that does not end with ']'") }
                scanner.index += 1
                try scanner.expectLineEnd()
                if let first = tableLines[name] ?? rootKeys[name] {
                    throw scanner.error(
                        "the table \(shownFileName(name, what: "table")) is defined a second time (first at line "
                            + "\(first)), which TOML forbids")
                }
                tableLines[name] = number
                tables.append((name, []))
                keys = [:]
                continue
            }
            let key = try scanner.key()
            scanner.skipBlanks()
            if scanner.peek == "." { throw scanner.error("a dotted key, which Keyway does not read") }
            guard scanner.peek == "=" else { throw scanner.error("a line that is neither key = value nor [table]") }
            scanner.index += 1
            scanner.skipBlanks()
            let value = try scanner.value()
            try scanner.expectLineEnd()
            if tables.isEmpty {
                if let first = rootKeys[key] {
                    throw scanner.error(
                        "the key \(shownFileName(key, what: "key")) is written a second time (first at line "
                            + "\(first)), which TOML forbids")
                }
                rootKeys[key] = number
                root.append((key, value))
            } else {
                if let first = keys[key] {
                    throw scanner.error(
                        "the key \(shownFileName(key, what: "key")) is written a second time in its table (first at "
                            + "line \(first)), which TOML forbids")
                }
                keys[key] = number
                tables[tables.count - 1].1.append((key, value))
            }
        }
        return .object(root + tables.map { ($0.0, JSON.object($0.1)) })
    }

    struct Scanner {
        let text: [Unicode.Scalar]
        let line: Int
        var index = 0

        var peek: Unicode.Scalar? { index < text.count ? text[index] : nil }
        var atEndOrComment: Bool { peek == nil || peek == "#" }

        func error(_ reason: String) -> LineSyntaxError { LineSyntaxError(line: line, reason) }

        mutating func skipBlanks() {
            while let c = peek, c == " " || c == "\t" { index += 1 }
        }

        mutating func expectLineEnd() throws(LineSyntaxError) {
            skipBlanks()
            guard atEndOrComment else { throw error("text after the value that is not a # comment") }
        }

        static func isBare(_ c: Unicode.Scalar) -> Bool {
            ("A"..."Z").contains(c) || ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
        }

        mutating func key() throws(LineSyntaxError) -> String {
            switch peek {
            case "\"": return try basicString()
            case "'": return try literalString()
            case let c? where Self.isBare(c):
                var s = String.UnicodeScalarView()
                while let c = peek, Self.isBare(c) {
                    s.append(c)
                    index += 1
                }
                return String(s)
            default: throw error("a key that is neither bare (letters, digits, _ and -) nor quoted")
            }
        }

        mutating func value() throws(LineSyntaxError) -> JSON {
            switch peek {
            case "\"": return .string(try basicString())
            case "'": return .string(try literalString())
            default:
                var word = String.UnicodeScalarView()
                while let c = peek, c != " ", c != "\t", c != "#" {
                    word.append(c)
                    index += 1
                }
                let text = String(word)
                if text == "true" || text == "false" { return .bool(text == "true") }
                if let number = Self.integer(text) { return .number(number) }
                throw error(
                    "a value Keyway's TOML reader does not read (it reads strings, decimal integers and booleans; "
                        + "not arrays, inline tables, floats, dates or multi-line strings)")
            }
        }

        /// A decimal integer (`_` only between digits, no leading zero), without its underscores.
        static func integer(_ text: String) -> String? {
            var digits = Substring(text)
            var sign = ""
            if let first = digits.first, first == "+" || first == "-" {
                if first == "-" { sign = "-" }
                digits = digits.dropFirst()
            }
            guard let first = digits.first, let last = digits.last, first.isASCII, first.isNumber, last.isASCII,
                last.isNumber, !digits.contains("__"), digits.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" })
            else { return nil }
            let plain = digits.filter { $0 != "_" }
            if plain.count > 1 && plain.first == "0" { return nil }
            return sign + plain
        }

        mutating func literalString() throws(LineSyntaxError) -> String {
            index += 1
            if peek == "'" && index + 1 < text.count && text[index + 1] == "'" {
                throw error("a multi-line string, which Keyway does not read")
            }
            var s = String.UnicodeScalarView()
            while let c = peek, c != "'" {
                s.append(c)
                index += 1
            }
            guard peek == "'" else { throw error("a string without its closing quote") }
            index += 1
            return String(s)
        }

        mutating func basicString() throws(LineSyntaxError) -> String {
            index += 1
            if peek == "\"" && index + 1 < text.count && text[index + 1] == "\"" {
                throw error("a multi-line string, which Keyway does not read")
            }
            var s = String.UnicodeScalarView()
            while let c = peek, c != "\"" {
                index += 1
                guard c == "\\" else {
                    s.append(c)
                    continue
                }
                guard let e = peek else { break }
                index += 1
                switch e {
                case "\"": s.append("\"")
                case "\\": s.append("\\")
                case "b": s.append("\u{08}")
                case "t": s.append("\t")
                case "n": s.append("\n")
                case "f": s.append("\u{0C}")
                case "r": s.append("\r")
                case "u", "U":
                    let count = e == "u" ? 4 : 8
                    guard index + count <= text.count,
                        text[index..<index + count].allSatisfy({ $0.properties.isASCIIHexDigit }),
                        let value = UInt32(String(String.UnicodeScalarView(text[index..<index + count])), radix: 16),
                        let scalar = Unicode.Scalar(value)
                    else { throw error("an escape \\u or \\U that is not a Unicode scalar value") }
                    s.append(scalar)
                    index += count
                default: throw error("an escape that TOML does not define")
                }
            }
            guard peek == "\"" else { throw error("a string without its closing quote") }
            index += 1
            return String(s)
        }
    }
}
