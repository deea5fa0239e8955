import Glibc

/// Finding one credential in a credentials document without building the others. The whole document is still
/// checked — JSON syntax and UTF-8, format and version, every entry's shape, field types, dates and times, names and
/// duplicates — but only the entry asked for becomes a `Credential`; the other entries' strings are validated in
/// place, not copied. When anything is wrong the full decoder runs, so errors are exactly those of
/// `CredentialDocument(parsing:source:)`. This keeps `keyway get` fast on a store of thousands of credentials.
extension CredentialDocument {
    public static func credential(
        _ id: CredentialID, parsing bytes: [UInt8], source: String
    ) throws(KeywayError) -> Credential? {
        var scanner = DocumentScanner(parser: JSONParser(bytes: bytes), target: id)
        do {
            return try scanner.scanDocument()
        } catch {
            // Anything wrong: the full decoder finds it and reports it exactly as every other read does.
            let document = try CredentialDocument(parsing: bytes, source: source)
            return try document.usableCredential(id)
        }
    }
}

/// A string value's place in the document.
struct ScannedString {
    let range: Range<Int>
    let escaped: Bool
}

extension JSONParser {
    /// Validates a string (escapes, UTF-8, no control characters) without building it; returns where its content is.
    mutating func scanString() throws(JSONSyntaxError) -> ScannedString {
        let start = index
        index += 1
        let contentStart = index
        var escaped = false
        let result: Int? = bytes.withUnsafeBufferPointer { buffer in
            var i = index
            while i < buffer.count {
                let b = buffer[i]
                if JSONParser.plainASCII[Int(b)] {
                    i += 1
                    continue
                }
                if b == UInt8(ascii: "\"") { return i }
                if b == UInt8(ascii: "\\") {
                    escaped = true
                    return i
                }
                if b < 0x20 { return i }
                if b < 0x80 {
                    i += 1
                    continue
                }
                guard let length = JSONParser.utf8SequenceLength(buffer, at: i) else { return i }
                i += length
            }
            return i
        }
        guard var i = result else { throw error("unterminated string", at: start) }
        if escaped {
            // Rare: fall back to the full decoder for validation from the start of the string.
            index = start
            _ = try parseString()
            return ScannedString(range: contentStart..<(index - 1), escaped: true)
        }
        index = i
        guard i < bytes.count else { throw error("unterminated string", at: start) }
        let b = bytes[i]
        if b == UInt8(ascii: "\"") {
            i += 1
            index = i
            return ScannedString(range: contentStart..<(i - 1), escaped: false)
        }
        if b < 0x20 { throw error("control character in a string") }
        throw error("invalid UTF-8 in a string")
    }

    /// Bytes that need no attention inside a string: printable ASCII other than `"` and `\\`.
    static let plainASCII: [Bool] = (0..<256).map { $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C }

    /// The length of a valid multi-byte UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates), else nil.
    static func utf8SequenceLength(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            k < b.count && b[k] >= low && b[k] <= high
        }
        let lead = b[i]
        switch lead {
        case 0xC2...0xDF: return continuation(i + 1) ? 2 : nil
        case 0xE0: return continuation(i + 1, 0xA0) && continuation(i + 2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(i + 1) && continuation(i + 2) ? 3 : nil
        case 0xED: return continuation(i + 1, 0x80, 0x9F) && continuation(i + 2) ? 3 : nil
        case 0xF0: return continuation(i + 1, 0x90) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
        case 0xF1...0xF3: return continuation(i + 1) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
        case 0xF4: return continuation(i + 1, 0x80, 0x8F) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
        default: return nil
        }
    }

    /// The string at `scanned`, decoded.
    func string(_ scanned: ScannedString) -> String {
        if !scanned.escaped {
            return bytes.withUnsafeBufferPointer {
                String(decoding: UnsafeBufferPointer(rebasing: $0[scanned.range]), as: UTF8.self)
            }
        }
        var copy = self
        copy.index = scanned.range.lowerBound - 1
        return (try? copy.parseString()) ?? ""
    }

    /// Whether the (unescaped) string at `scanned` is exactly `text`.
    func equals(_ scanned: ScannedString, _ text: String) -> Bool {
        if scanned.escaped { return string(scanned) == text }
        var text = text
        return text.withUTF8 { utf8 in
            utf8.count == scanned.range.count
                && bytes.withUnsafeBufferPointer { buffer in
                    UnsafeBufferPointer(rebasing: buffer[scanned.range]).elementsEqual(utf8)
                }
        }
    }

    /// Validates and skips any value without building strings; nested containers use the full parser.
    mutating func skipValue() throws(JSONSyntaxError) {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of file") }
        if bytes[index] == UInt8(ascii: "\"") {
            _ = try scanString()
        } else {
            _ = try parseValue()
        }
    }

    /// Reads `:` after an object key.
    mutating func expectColon() throws(JSONSyntaxError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
        index += 1
        skipWhitespace()
    }

    /// After a member or element: true when another follows (`,`), false at the closing character.
    mutating func next(closing: UInt8, what: String) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of file inside \(what)") }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            skipWhitespace()
            return true
        }
        if bytes[index] == closing {
            index += 1
            return false
        }
        throw error(closing == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'")
    }
}

/// Walks a credentials document once. Any problem makes it stop (`Bail`), and the caller runs the full decoder.
struct DocumentScanner {
    var parser: JSONParser
    let target: CredentialID

    struct Bail: Error {}

    enum Scanned {
        case null
        case string(ScannedString)
        case other(JSON)
    }

    mutating func value() throws -> Scanned {
        parser.skipWhitespace()
        guard parser.index < parser.bytes.count else { throw Bail() }
        if parser.bytes[parser.index] == UInt8(ascii: "\"") { return .string(try parser.scanString()) }
        let value = try parser.parseValue()
        if case .null = value { return .null }
        return .other(value)
    }

    func at(_ byte: UInt8) -> Bool {
        parser.index < parser.bytes.count && parser.bytes[parser.index] == byte
    }

    /// The entry fields the scanner reads, by their UTF-8 names.
    static let fieldNames: [[UInt8]] = CredentialDocument.entryFields.map { Array($0.utf8) }

    /// The index of a member name in `fieldNames`, or nil, compared as bytes (escaped names take the slow path).
    func field(_ name: ScannedString) -> Int? {
        if name.escaped {
            let text = parser.string(name)
            return DocumentScanner.fieldNames.firstIndex { $0 == Array(text.utf8) }
        }
        return parser.bytes.withUnsafeBufferPointer { buffer -> Int? in
            let count = name.range.count
            guard count >= 3, count <= 12, let base = buffer.baseAddress?.advanced(by: name.range.lowerBound) else {
                return nil
            }
            for (i, field) in DocumentScanner.fieldNames.enumerated() where field.count == count && field[0] == base[0]
            {
                if field.withUnsafeBufferPointer({ memcmp($0.baseAddress!, base, count) }) == 0 { return i }
            }
            return nil
        }
    }

    /// Whether the target entry's key obeys `APIKeyRules` (else the full decoder gives the error); printable ASCII is
    /// checked in place.
    func keyIsUsable(_ key: ScannedString) -> Bool {
        if !key.escaped,
            parser.bytes.withUnsafeBufferPointer({
                APIKeyRules.isPlainUsable(UnsafeBufferPointer(rebasing: $0[key.range]))
            })
        {
            return true
        }
        return APIKeyRules.violation(parser.string(key)) == nil
    }

    mutating func scanDocument() throws -> Credential? {
        parser.skipWhitespace()
        guard at(UInt8(ascii: "{")) else { throw Bail() }
        parser.index += 1
        // The containers the scanner opens itself count toward the 512-level bound exactly as in the full decoder:
        // the document object is level 1, the credentials array 2, an entry 3 (so a value is parsed at the depth
        // `JSON.parse` would parse it at, and both refuse the same documents).
        parser.depth = 1
        parser.skipWhitespace()
        var version: Int?
        var sawCredentials = false
        var found: Credential?
        var names = MemberNames()
        if at(UInt8(ascii: "}")) { throw Bail() }  // no version, no credentials
        repeat {
            guard at(UInt8(ascii: "\"")) else { throw Bail() }
            let key = parser.string(try parser.scanString())
            guard names.insert(key) else { throw Bail() }  // a repeated field
            try parser.expectColon()
            switch key {
            case "credentials":
                guard !sawCredentials, at(UInt8(ascii: "[")) else { throw Bail() }
                sawCredentials = true
                found = try scanEntries()
            case "version":
                guard version == nil, let number = try parser.parseValue().intValue else { throw Bail() }
                version = number
            case "format":
                guard try parser.parseValue() == .string(CredentialDocument.formatName) else { throw Bail() }
            default:
                try parser.skipValue()
            }
        } while try parser.next(closing: UInt8(ascii: "}"), what: "an object")
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count, version == CredentialDocument.currentVersion, sawCredentials else {
            throw Bail()
        }
        return found
    }

    mutating func scanEntries() throws -> Credential? {
        parser.index += 1  // [
        parser.depth = 2
        defer { parser.depth = 1 }
        parser.skipWhitespace()
        if at(UInt8(ascii: "]")) {
            parser.index += 1
            return nil
        }
        var seen = Set<CredentialID>()
        var found: Credential?
        repeat {
            if let credential = try scanEntry(seen: &seen) { found = credential }
        } while try parser.next(closing: UInt8(ascii: "]"), what: "an array")
        return found
    }

    mutating func scanEntry(seen: inout Set<CredentialID>) throws -> Credential? {
        guard at(UInt8(ascii: "{")) else { throw Bail() }
        parser.index += 1
        parser.depth = 3
        defer { parser.depth = 2 }
        parser.skipWhitespace()
        var app, profile, key, account, organization, expiresText, createdText, updatedText: ScannedString?
        var scopes: [String] = []
        var seenFields: UInt16 = 0
        var otherNames = MemberNames()
        if at(UInt8(ascii: "}")) { throw Bail() }  // app and profile are required
        repeat {
            guard at(UInt8(ascii: "\"")) else { throw Bail() }
            let nameRange = try parser.scanString()
            try parser.expectColon()
            let scanned = try value()
            // A repeated field (null or not) makes the document invalid.
            guard let field = field(nameRange) else {
                guard otherNames.insert(parser.string(nameRange)) else { throw Bail() }
                continue
            }
            guard seenFields & (1 << field) == 0 else { throw Bail() }
            seenFields |= 1 << field
            if case .null = scanned { continue }
            if field == 8 {  // scopes
                guard case .other(.array(let items)) = scanned else { throw Bail() }
                scopes.removeAll()
                for item in items {
                    guard case .string(let scope) = item else { throw Bail() }
                    scopes.append(scope)
                }
                continue
            }
            guard case .string(let text) = scanned else { throw Bail() }
            switch field {
            case 0: app = text
            case 1: profile = text
            case 2: key = text
            case 3: account = text
            case 4: organization = text
            case 5: expiresText = text
            case 6: createdText = text
            default: updatedText = text
            }
        } while try parser.next(closing: UInt8(ascii: "}"), what: "an object")
        guard let app, let profile, let key else { throw Bail() }
        let id = CredentialID(app: parser.string(app), profile: parser.string(profile))
        do { try id.validate() } catch { throw Bail() }
        guard seen.insert(id).inserted else { throw Bail() }
        func day(_ text: ScannedString?) throws -> Day? {
            guard let text else { return nil }
            guard let day = text.escaped ? Day(parsing: parser.string(text)) : Day(utf8: parser.bytes[text.range])
            else { throw Bail() }
            return day
        }
        func time(_ text: ScannedString?) throws -> Timestamp? {
            guard let text else { return nil }
            guard
                let time = text.escaped
                    ? Timestamp(parsing: parser.string(text)) : Timestamp(utf8: parser.bytes[text.range])
            else { throw Bail() }
            return time
        }
        let expires = try day(expiresText)
        let created = try time(createdText) ?? Timestamp(secondsSinceEpoch: 0)
        let updated = try time(updatedText) ?? created
        guard id == target else { return nil }
        guard keyIsUsable(key) else { throw Bail() }
        return Credential(
            id: id, secret: Secret(parser.string(key)), account: account.map(parser.string),
            organization: organization.map(parser.string), scopes: scopes, expires: expires, created: created,
            updated: updated)
    }
}
