/// A reader for the block-style YAML subset that CLI credentials files use (FluxLoop's `~/.fluxloop/credentials`):
/// nested mappings by indentation, `- item` sequences, plain, single- and double-quoted scalars, `#` comments, and
/// flow sequences of scalars (`[a, b]`). Anchors, tags, multi-line scalars and flow mappings are refused with the
/// line number. Values are returned as `JSON` (scalars as strings) so one accessor API serves both formats.
public enum YAMLSubset {
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "\(reason) at line \(line)" }
    }

    struct Line {
        let number: Int
        let indent: Int
        let text: Substring
    }

    public static func parse(_ text: String) throws(SyntaxError) -> JSON {
        var lines: [Line] = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = raw
            if line.hasSuffix("\r") { line = line.dropLast() }
            if number == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            let stripped = stripComment(line)
            if stripped.allSatisfy({ $0 == " " }) { continue }
            if stripped == "---" || stripped == "..." { continue }
            let indent = stripped.prefix { $0 == " " }.count
            if stripped.dropFirst(indent).first == "\t" || stripped.prefix(indent + 1).contains("\t") {
                throw SyntaxError(line: number, reason: "tab used for indentation")
            }
            var content = stripped.dropFirst(indent)
            while content.last == " " { content = content.dropLast() }
            lines.append(Line(number: number, indent: indent, text: content))
        }
        if lines.isEmpty { return .null }
        var index = 0
        let value = try parseBlock(lines, &index, indent: lines[0].indent)
        if index < lines.count { throw SyntaxError(line: lines[index].number, reason: "unexpected indentation") }
        return value
    }

    /// Removes a `#` comment that is not inside quotes.
    static func stripComment(_ line: Substring) -> Substring {
        var quote: Character? = nil
        var previous: Character = " "
        for i in line.indices {
            let c = line[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#", previous == " " || previous == "\t" {
                return line[..<i]
            }
            previous = c
        }
        return line
    }

    static func parseBlock(_ lines: [Line], _ index: inout Int, indent: Int) throws(SyntaxError) -> JSON {
        let first = lines[index]
        if first.text.hasPrefix("- ") || first.text == "-" {
            var items: [JSON] = []
            while index < lines.count, lines[index].indent == indent,
                lines[index].text.hasPrefix("- ") || lines[index].text == "-"
            {
                let line = lines[index]
                let rest = line.text.dropFirst(1).drop { $0 == " " }
                index += 1
                if rest.isEmpty {
                    guard index < lines.count, lines[index].indent > indent else {
                        items.append(.null)
                        continue
                    }
                    items.append(try parseBlock(lines, &index, indent: lines[index].indent))
                } else if let colon = mappingColon(rest) {
                    throw SyntaxError(
                        line: line.number,
                        reason: "a mapping inside a sequence item is not supported (key '\(rest[..<colon])')")
                } else {
                    items.append(try scalar(rest, line: line.number))
                }
            }
            return .array(items)
        }
        var members: [(String, JSON)] = []
        while index < lines.count, lines[index].indent == indent {
            let line = lines[index]
            guard let colon = mappingColon(line.text) else {
                throw SyntaxError(line: line.number, reason: "expected 'key: value'")
            }
            let key = try keyText(line.text[..<colon], line: line.number)
            if members.contains(where: { $0.0 == key }) {
                throw SyntaxError(line: line.number, reason: "duplicate key '\(key)'")
            }
            let rest = line.text[line.text.index(after: colon)...].drop { $0 == " " }
            index += 1
            if rest.isEmpty {
                if index < lines.count, lines[index].indent > indent {
                    members.append((key, try parseBlock(lines, &index, indent: lines[index].indent)))
                } else if index < lines.count, lines[index].indent == indent,
                    lines[index].text.hasPrefix("- ") || lines[index].text == "-"
                {
                    // A sequence may sit at the same indentation as its key.
                    members.append((key, try parseBlock(lines, &index, indent: indent)))
                } else {
                    members.append((key, .null))
                }
            } else {
                members.append((key, try scalar(rest, line: line.number)))
            }
        }
        if index < lines.count, lines[index].indent > indent {
            throw SyntaxError(line: lines[index].number, reason: "unexpected indentation")
        }
        return .object(members)
    }

    /// The colon that separates a mapping key (followed by a space or the end), outside quotes.
    static func mappingColon(_ text: Substring) -> Substring.Index? {
        var quote: Character? = nil
        for i in text.indices {
            let c = text[i]
            if let q = quote {
                if c == q { quote = nil }
                continue
            }
            if (c == "\"" || c == "'") && i == text.startIndex {
                quote = c
                continue
            }
            if c == ":" {
                let next = text.index(after: i)
                if next == text.endIndex || text[next] == " " { return i }
            }
        }
        return nil
    }

    static func keyText(_ raw: Substring, line: Int) throws(SyntaxError) -> String {
        var key = raw
        while key.last == " " { key = key.dropLast() }
        if key.first == "\"" || key.first == "'" {
            guard case .string(let s) = try scalar(key, line: line) else {
                throw SyntaxError(line: line, reason: "invalid key")
            }
            return s
        }
        if key.isEmpty { throw SyntaxError(line: line, reason: "empty key") }
        return String(key)
    }

    static func scalar(_ text: Substring, line: Int) throws(SyntaxError) -> JSON {
        guard let first = text.first else { return .null }
        switch first {
        case "\"":
            guard text.count >= 2, text.last == "\"" else {
                throw SyntaxError(line: line, reason: "unterminated double-quoted string")
            }
            var result = ""
            var iterator = text.dropFirst().dropLast().makeIterator()
            while let c = iterator.next() {
                if c == "\\" {
                    switch iterator.next() {
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "\"": result.append("\"")
                    case "\\": result.append("\\")
                    case "/": result.append("/")
                    case "0": result.append("\0")
                    default: throw SyntaxError(line: line, reason: "unsupported escape in a double-quoted string")
                    }
                } else {
                    result.append(c)
                }
            }
            return .string(result)
        case "'":
            guard text.count >= 2, text.last == "'" else {
                throw SyntaxError(line: line, reason: "unterminated single-quoted string")
            }
            return .string(String(text.dropFirst().dropLast()).split(separator: "''", omittingEmptySubsequences: false)
                .joined(separator: "'"))
        case "[":
            guard text.last == "]" else { throw SyntaxError(line: line, reason: "unterminated flow sequence") }
            let inner = text.dropFirst().dropLast()
            if inner.allSatisfy({ $0 == " " }) { return .array([]) }
            var items: [JSON] = []
            for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
                var item = part.drop { $0 == " " }
                while item.last == " " { item = item.dropLast() }
                if item.first == "[" || item.first == "{" {
                    throw SyntaxError(line: line, reason: "nested flow collections are not supported")
                }
                items.append(try scalar(item, line: line))
            }
            return .array(items)
        case "{", "&", "*", "!", "|", ">", "%", "@", "`":
            throw SyntaxError(line: line, reason: "unsupported YAML syntax '\(first)'")
        default:
            if text == "~" || text == "null" || text == "Null" || text == "NULL" { return .null }
            return .string(String(text))
        }
    }
}
