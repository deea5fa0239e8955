/// A JSON value whose objects keep their keys in order, so what Keyway writes is stable and diffable.
package enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)  // kept as written, so no precision is lost on a round trip
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0.utf8.elementsEqual($1.0.utf8) && $0.1 == $1.1 }
        default: return false
        }
    }

    public static func int(_ value: Int) -> JSON { .number(String(value)) }
    public static func optional(_ value: String?) -> JSON { value.map { .string($0) } ?? .null }

    /// The member named exactly `key`: names are compared by Unicode scalars, as JSON (RFC 8259 8.3), PyYAML and
    /// Python's dicts compare them, not by canonical equivalence (Swift's `==`, which makes "café" in NFC and NFD, or
    /// "K" and the Kelvin sign U+212A, the same name).
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.0.utf8.elementsEqual(key.utf8) })?.1
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        if case .number(let n) = self { return Int(n) }
        return nil
    }

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// The member names of one object, to find a repeated one in O(n): a scan while there are few, a set beyond.
/// A string compared and hashed by its Unicode scalars (its UTF-8 bytes), not by canonical equivalence as Swift's
/// `String` is: the identity of names in JSON and YAML mappings, credentials' app and profile names.
package struct ExactString: Hashable, Sendable {
    public let text: String
    public init(_ text: String) { self.text = text }
    public static func == (a: ExactString, b: ExactString) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
    public func hash(into hasher: inout Hasher) {
        for byte in text.utf8 { hasher.combine(byte) }
    }
}

struct MemberNames {
    private var few: [String] = []
    private var many: Set<ExactString>?

    /// False when `name` was already inserted (compared by Unicode scalars, see `ExactString`).
    mutating func insert(_ name: String) -> Bool {
        if many != nil { return many!.insert(ExactString(name)).inserted }
        if few.contains(where: { $0.utf8.elementsEqual(name.utf8) }) { return false }
        few.append(name)
        if few.count > 8 {
            many = Set(few.map(ExactString.init))
            few = []
        }
        return true
    }
}

extension JSON {
    /// One step of the way to a value: an object member's name or an array element's index.
    package enum PathStep: Equatable {
        case member(String)
        case element(Int)
    }

    /// The way to the first member name written twice in one object, anywhere in this value (each object's own
    /// members first, then its values in document order): the last step is the repeated name. Nil when none is.
    package func firstRepeatedMember() -> [PathStep]? {
        switch self {
        case .object(let members):
            var names = MemberNames()
            for (name, _) in members where !names.insert(name) { return [.member(name)] }
            for (name, value) in members {
                if let path = value.firstRepeatedMember() { return [.member(name)] + path }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let path = element.firstRepeatedMember() { return [.element(index)] + path }
            }
        default: break
        }
        return nil
    }

    /// `name` as a JSON string literal, for naming a field in a message.
    static func quoted(_ name: String) -> String {
        var out = ""
        writeString(name, to: &out)
        return out
    }
}

// MARK: - Parsing

/// A JSON syntax error with its 1-based line and column.
package struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let reason: String
    public var description: String { "\(reason) at line \(line), column \(column)" }
}

extension JSON {
    /// Parses UTF-8 JSON text (RFC 8259). Nesting deeper than 512 levels is refused.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSON {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
    }

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSON {
        try parse(Array(text.utf8))
    }
}

struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }  // tolerate a UTF-8 byte-order mark
    }

    func error(_ reason: String, at position: Int? = nil) -> JSONSyntaxError {
        let end = min(position ?? index, bytes.count)
        var line = 1
        var lineStart = 0
        for i in 0..<end where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        let column = String(decoding: bytes[lineStart..<end], as: UTF8.self).count + 1
        return JSONSyntaxError(line: line, column: column, reason: reason)
    }

    mutating func skipWhitespace() {
        index = bytes.withUnsafeBufferPointer { buffer in
            var i = index
            while i < buffer.count {
                switch buffer[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return i
                }
            }
            return i
        }
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSON {
        skipWhitespace()
        if index >= bytes.count { throw error("empty document") }
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count { throw error("unexpected text after the JSON value") }
        return value
    }

    mutating func parseValue() throws(JSONSyntaxError) -> JSON {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of file") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character \(describe(bytes[index]))")
        }
    }

    func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "0x" + String(byte, radix: 16)
    }

    mutating func expectLiteral(_ literal: String) throws(JSONSyntaxError) {
        let start = index
        for b in literal.utf8 {
            guard index < bytes.count, bytes[index] == b else { throw error("invalid literal", at: start) }
            index += 1
        }
    }

    mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > 512 { throw error("nesting deeper than 512 levels") }
    }

    mutating func parseObject() throws(JSONSyntaxError) -> JSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [(String, JSON)] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an object") }
            guard bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            members.append((key, try parseValue()))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw error("expected ',' or '}'")
        }
    }

    mutating func parseArray() throws(JSONSyntaxError) -> JSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSON] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw error("expected ',' or ']'")
        }
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> JSON {
        let start = index
        func digits(_ parser: inout JSONParser) -> Int {
            var count = 0
            while parser.index < parser.bytes.count, parser.bytes[parser.index] >= UInt8(ascii: "0"),
                parser.bytes[parser.index] <= UInt8(ascii: "9")
            {
                parser.index += 1
                count += 1
            }
            return count
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw error("invalid number", at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(&self) == 0 {
            throw error("invalid number", at: start)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            if digits(&self) == 0 { throw error("invalid number", at: start) }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            if digits(&self) == 0 { throw error("invalid number", at: start) }
        }
        return .number(String(decoding: bytes[start..<index], as: UTF8.self))
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        let start = index
        index += 1
        // Fast path: no escape. Find the closing quote, then validate the UTF-8 of the whole run at once.
        var runStart = index
        var result = ""
        while true {
            var nonASCII: UInt8 = 0
            index = bytes.withUnsafeBufferPointer { buffer in
                var i = index
                while i < buffer.count {
                    let b = buffer[i]
                    if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
                    nonASCII |= b
                    i += 1
                }
                return i
            }
            guard index < bytes.count else { throw error("unterminated string", at: start) }
            if index > runStart {
                let end = index
                // ASCII needs no validation (and the non-generic decoder is much faster); the rest is validated.
                let decoded: String? = bytes.withUnsafeBufferPointer { buffer in
                    let run = UnsafeBufferPointer(rebasing: buffer[runStart..<end])
                    return nonASCII < 0x80
                        ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
                }
                guard let run = decoded else {
                    throw error("invalid UTF-8 in a string", at: firstInvalidUTF8(from: runStart))
                }
                if result.isEmpty { result = run } else { result += run }
            }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                return result
            }
            if b < 0x20 { throw error("control character in a string") }
            // An escape sequence.
            index += 1
            guard index < bytes.count else { throw error("unterminated string", at: start) }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): result.append("\"")
            case UInt8(ascii: "\\"): result.append("\\")
            case UInt8(ascii: "/"): result.append("/")
            case UInt8(ascii: "b"): result.append("\u{08}")
            case UInt8(ascii: "f"): result.append("\u{0C}")
            case UInt8(ascii: "n"): result.append("\n")
            case UInt8(ascii: "r"): result.append("\r")
            case UInt8(ascii: "t"): result.append("\t")
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw error("unpaired surrogate in \\u escape") }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw error("unpaired surrogate in \\u escape")
                }
                result.unicodeScalars.append(Unicode.Scalar(code)!)
            default:
                throw error("invalid escape sequence", at: index - 2)
            }
            runStart = index
        }
    }

    /// The offset of the first byte that starts an invalid UTF-8 sequence at or after `from` (for error positions).
    func firstInvalidUTF8(from: Int) -> Int {
        var i = from
        while i < bytes.count {
            let b = bytes[i]
            let length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0
            guard length > 0, i + length <= bytes.count,
                String(validating: bytes[i..<i + length], as: UTF8.self) != nil
            else { return i }
            i += length
        }
        return i
    }

    mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}

// MARK: - Writing

extension JSON {
    /// Pretty-printed with two-space indentation and a trailing newline, keys in their stored order.
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(to: &out, indent: pretty ? 0 : -1)
        if pretty { out.append("\n") }
        return out
    }

    private func write(to out: inout String, indent: Int) {
        let pretty = indent >= 0
        func newline(_ level: Int) {
            if pretty {
                out.append("\n")
                out.append(String(repeating: "  ", count: level))
            }
        }
        switch self {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .number(let n): out.append(n)
        case .string(let s): JSON.writeString(s, to: &out)
        case .array(let elements):
            if elements.isEmpty {
                out.append("[]")
                return
            }
            out.append("[")
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(",") }
                newline(indent + 1)
                element.write(to: &out, indent: pretty ? indent + 1 : -1)
            }
            newline(indent)
            out.append("]")
        case .object(let members):
            if members.isEmpty {
                out.append("{}")
                return
            }
            out.append("{")
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(",") }
                newline(indent + 1)
                JSON.writeString(key, to: &out)
                out.append(pretty ? ": " : ":")
                value.write(to: &out, indent: pretty ? indent + 1 : -1)
            }
            newline(indent)
            out.append("}")
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        out.append("\"")
        if !needsEscaping(s) {
            out.append(s)
            out.append("\"")
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            default:
                // C0, DEL and C1 (U+0080-U+009F, which a terminal may take for CSI and friends) go out as \u
                // escapes, so a JSON report printed to a terminal carries no raw control character.
                if scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F) || scalar == "\u{2028}"
                    || scalar == "\u{2029}"
                {
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }

    /// Whether `writeString` must escape anything in `s`, found from its UTF-8 bytes in one pass: `"`, `\\`, C0
    /// and DEL (single bytes), C1 (`C2 80`-`C2 9F`), U+2028 and U+2029 (`E2 80 A8`, `E2 80 A9`). Most strings
    /// written (names, messages, paths) need nothing, and are then copied whole.
    static func needsEscaping(_ s: String) -> Bool {
        TerminalText.anyUTF8Byte(of: s) { bytes, i in
            let b = bytes[i]
            if b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F || TerminalText.isC1(bytes, i) { return true }
            return b == 0xE2 && i + 2 < bytes.count && bytes[i + 1] == 0x80
                && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9)
        }
    }
}
