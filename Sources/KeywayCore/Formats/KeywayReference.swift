/// A reference to a stored key: `keyway://APP`, `keyway://APP/PROFILE`, and with `#FIELD` one of the values recorded
/// with the key (`#account`, `#organization`). What `keyway run` resolves in environment variables and env files and
/// `keyway inject` in `{{ keyway://... }}` templates.
///
/// The syntax is strict, so that a typo is an error and never another key: the names are 1 to 128 characters of
/// letters, digits, `.`, `_` and `-` (no percent-decoding, no query, no empty part, nothing after the field). A
/// reference's text is never quoted in an error message: only its names, when they cannot be a key
/// (`APIKeyRules.shownName`).
public struct KeywayReference: Sendable, Equatable, CustomStringConvertible {
    public enum Field: String, Sendable, CaseIterable {
        /// The key itself (no `#field`).
        case key
        case account
        case organization
    }

    public let app: String
    /// Nil when the reference names none: the profile in force (`--profile`, `KEYWAY_PROFILE`, `default`).
    public let profile: String?
    public let field: Field

    public static let scheme = "keyway://"
    /// The longest app or profile name in a reference.
    public static let maximumNameLength = 128

    public init(app: String, profile: String? = nil, field: Field = .key) {
        self.app = app
        self.profile = profile
        self.field = field
    }

    /// Whether `value` is meant as a reference (starts with `keyway://`): such a value is resolved or refused, never
    /// passed on as it is.
    public static func isReference(_ value: some StringProtocol) -> Bool { value.hasPrefix(scheme) }

    /// Parses a whole reference; the error says what is wrong without quoting the text.
    public static func parse(_ text: some StringProtocol) throws(KeywayError) -> KeywayReference {
        guard isReference(text) else {
            throw KeywayError(.invalidInput, "A reference starts with keyway:// (keyway://APP[/PROFILE][#field]).")
        }
        let body = text.utf8.dropFirst(scheme.utf8.count)
        var parts: [[UInt8]] = [[]]
        var fragment: [UInt8]?
        for byte in body {
            if fragment != nil {
                guard isNameByte(byte) else { throw malformed("the field may hold only letters") }
                fragment!.append(byte)
            } else if byte == UInt8(ascii: "#") {
                fragment = []
            } else if byte == UInt8(ascii: "/") {
                parts.append([])
            } else {
                guard isNameByte(byte) else {
                    throw malformed("app and profile names may hold only letters, digits, '.', '_' and '-'")
                }
                parts[parts.count - 1].append(byte)
            }
        }
        guard parts.count <= 2 else { throw malformed("it has more than one '/' (keyway://APP/PROFILE)") }
        for (what, part) in zip(["app", "profile"], parts) {
            if part.isEmpty { throw malformed("its \(what) name is empty") }
            if part.count > maximumNameLength {
                throw malformed("its \(what) name is longer than \(maximumNameLength) characters")
            }
            if part.allSatisfy({ $0 == UInt8(ascii: ".") }) { throw malformed("its \(what) name is only dots") }
        }
        var field = Field.key
        if let fragment {
            guard let named = Field(rawValue: String(decoding: fragment, as: UTF8.self)), named != .key else {
                throw malformed(
                    "its #field is not one of "
                        + Field.allCases.filter { $0 != .key }.map { "#\($0.rawValue)" }.joined(separator: ", "))
            }
            field = named
        }
        return KeywayReference(
            app: String(decoding: parts[0], as: UTF8.self),
            profile: parts.count == 2 ? String(decoding: parts[1], as: UTF8.self) : nil, field: field)
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default: return false
        }
    }

    static func malformed(_ why: String) -> KeywayError {
        KeywayError(.invalidInput, "Malformed reference: \(why).")
    }

    /// The reference as written, with names that may be keys not shown.
    public var description: String {
        var text = Self.scheme + APIKeyRules.shownName(app)
        if let profile { text += "/" + APIKeyRules.shownName(profile) }
        if field != .key { text += "#" + field.rawValue }
        return text
    }
}

/// A template with `{{ keyway://... }}` placeholders (`keyway inject`): spaces or tabs inside the braces are
/// optional. Text outside the placeholders is copied byte for byte; a `{{` not followed by `keyway://` is plain text.
public enum ReferenceTemplate {
    public enum Piece: Sendable, Equatable {
        case text([UInt8])
        /// A reference and the line it is on (1-based).
        case reference(KeywayReference, line: Int)
    }

    /// Splits `bytes` into text and references. A `{{ keyway://` that is not closed by `}}` on the same line, or whose
    /// reference is malformed, is an error naming the line.
    public static func parse(_ bytes: [UInt8]) throws(KeywayError) -> [Piece] {
        var pieces: [Piece] = []
        var text: [UInt8] = []
        var line = 1
        var i = 0
        let open = Array("{{".utf8)
        let scheme = Array(KeywayReference.scheme.utf8)
        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        while i < bytes.count {
            if bytes[i] == open[0], i + 1 < bytes.count, bytes[i + 1] == open[1] {
                var j = i + 2
                while j < bytes.count, isBlank(bytes[j]) { j += 1 }
                if bytes[j...].starts(with: scheme) {
                    var end = j
                    while end < bytes.count, bytes[end] != UInt8(ascii: "}"), bytes[end] != 0x0A { end += 1 }
                    guard end + 1 < bytes.count, bytes[end] == UInt8(ascii: "}"), bytes[end + 1] == UInt8(ascii: "}")
                    else {
                        throw KeywayError(.invalidInput, "Line \(line): {{ keyway://... is not closed by }}.")
                    }
                    var last = end
                    while last > j, isBlank(bytes[last - 1]) { last -= 1 }
                    let reference: KeywayReference
                    do throws(KeywayError) {
                        reference = try KeywayReference.parse(String(decoding: bytes[j..<last], as: UTF8.self))
                    } catch {
                        throw KeywayError(error.code, "Line \(line): \(error.message)")
                    }
                    if !text.isEmpty { pieces.append(.text(text)) }
                    text = []
                    pieces.append(.reference(reference, line: line))
                    i = end + 2
                    continue
                }
            }
            if bytes[i] == 0x0A { line += 1 }
            text.append(bytes[i])
            i += 1
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        return pieces
    }
}
