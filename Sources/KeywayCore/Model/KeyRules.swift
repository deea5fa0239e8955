/// The rules every API key obeys, wherever it is read from (login's input, `--api-key`, a key file, an environment
/// variable, a tool's own credentials file, Keyway's stores): not empty, not only whitespace or invisible characters,
/// no control character (NUL, CR, LF, tab, DEL, C1, line and paragraph separators: they would make `get` print
/// something other than what `run` exports), no format character (Unicode category Cf: zero-width characters,
/// bidirectional controls such as U+202E, U+FEFF, soft hyphen, tag characters: a key a person cannot read as it is),
/// at most `maximumBytes` of UTF-8. A key that breaks them is an error of the place it came from;
/// the messages name the place and the rule, never the key.
public enum APIKeyRules {
    /// The largest key, in UTF-8 bytes: 64 KiB. Real keys and tokens are far shorter (a JWT is a few KiB).
    public static let maximumBytes = 64 * 1024

    /// The rule a key breaks.
    public enum Violation: Sendable, Equatable, CustomStringConvertible {
        case empty
        /// Only whitespace and invisible characters.
        case blank
        case tooLong
        case controlCharacter
        /// A Unicode format character (category Cf), anywhere.
        case formatCharacter
        /// U+FFFD, which a program puts where bytes were not valid text: the key was mangled on its way.
        case replacementCharacter

        /// Completes "The API key ...", "... holds a key that ...".
        public var description: String {
            switch self {
            case .empty: return "is empty"
            case .blank: return "is only whitespace or invisible characters"
            case .tooLong: return "is longer than \(APIKeyRules.maximumBytes) bytes (64 KiB), the most a key may be"
            case .controlCharacter:
                return "contains a control character (such as a newline, carriage return, tab or NUL)"
            case .formatCharacter:
                return "contains an invisible formatting character (Unicode category Cf, such as U+200B, U+202E or "
                    + "U+FEFF)"
            case .replacementCharacter:
                return "contains U+FFFD, the replacement character a program puts where bytes were not valid text: "
                    + "it was most likely mangled on its way (KWallet, for one, does this to a binary secret, as it "
                    + "stores text)"
            }
        }
    }

    /// The first rule `key` breaks, or nil when it is usable.
    public static func violation(_ key: String) -> Violation? {
        let utf8 = key.utf8
        if utf8.isEmpty { return .empty }
        if utf8.count > maximumBytes { return .tooLong }
        // Fast path: printable ASCII, which nearly every key is.
        var printable = true
        var visible = false
        for byte in utf8 {
            if byte < 0x20 || byte >= 0x7F {
                printable = false
                break
            }
            if byte != 0x20 { visible = true }
        }
        if printable { return visible ? nil : .blank }
        visible = false
        var format = false
        var replacement = false
        for scalar in key.unicodeScalars {
            if isControl(scalar) { return .controlCharacter }
            if scalar.properties.generalCategory == .format { format = true }
            if scalar == "\u{FFFD}" { replacement = true }
            if !scalar.properties.isWhitespace && !isInvisible(scalar) { visible = true }
        }
        if !visible { return .blank }
        if format { return .formatCharacter }
        return replacement ? .replacementCharacter : nil
    }

    /// Whether the UTF-8 bytes of a key (already known to be valid UTF-8 without C0 controls, as in a JSON string)
    /// are certainly usable without decoding them: 1 to `maximumBytes` bytes of printable ASCII, not all spaces.
    static func isPlainUsable(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maximumBytes else { return false }
        var visible = false
        for byte in bytes {
            if byte < 0x20 || byte >= 0x7F { return false }
            if byte != 0x20 { visible = true }
        }
        return visible
    }

    /// Whether `value` (a command-line value, an app or profile name, a field name) may be quoted in a message because
    /// it cannot be a key: 1 to 24 characters of lower-case ASCII letters, digits and `_ - . / :`, with digits only in
    /// values of at most 12 characters (keys are longer, and mix cases and digits), not starting with a known key
    /// prefix (`keyPrefixes`: `rfx_`, `sk-`, `ghp_`, every built-in spec's prefix and token kind). `2026-02-30`,
    /// `vault9`, `scopes_feild`, `reflex`, `my-app`, `team_a` can be quoted; `rfx_abc`, `Prod`, `sk-live` cannot.
    /// The rule for every value echoed in a message; app and profile names may also pass `isShowableName`.
    public static func isQuotable(_ value: String) -> Bool {
        let bytes = value.utf8
        guard (1...24).contains(bytes.count) else { return false }
        var digits = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "/"), UInt8(ascii: ":"):
                continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits = true
            default: return false
            }
        }
        guard !digits || bytes.count <= 12 else { return false }
        return !startsWithKeyPrefix(value)
    }

    /// Whether `value` starts with one of `keyPrefixes`, in any case.
    static func startsWithKeyPrefix(_ value: String) -> Bool {
        let lower = value.utf8.prefix(maximumPrefixLength).map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }
        return keyPrefixes.contains { lower.starts(with: $0.utf8) }
    }

    static let maximumPrefixLength = 16

    /// Whether an app or profile name may be shown in a message: `isQuotable`, or a name that does not look like a
    /// key either: at most 40 characters of ASCII letters, digits and `_ - . / :`, not starting with a known key
    /// prefix, and no run of letters and digits between separators that mixes digits with letters over 8 characters
    /// (`q9fK2mQ7xLp4`, a hex token) or mixes cases over 16. `Reflex`, `MyApp2`, `keyway-cli-migrate-22930-2`,
    /// `team_a` are shown; `rfx_…`, `SECRETq9fK2mQ7`, `0123456789abcdef0` are not.
    public static func isShowableName(_ value: String) -> Bool {
        if isQuotable(value) { return true }
        let bytes = value.utf8
        guard (1...40).contains(bytes.count), !startsWithKeyPrefix(value) else { return false }
        var run = 0, digits = false, lower = false, upper = false
        func runLooksLikeKey() -> Bool {
            let letters = lower || upper
            return (digits && letters && run > 8) || (lower && upper && run > 16) || (digits && run > 16)
        }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                lower = true
                run += 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                upper = true
                run += 1
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits = true
                run += 1
            case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"):
                if runLooksLikeKey() { return false }
                run = 0
                digits = false
                lower = false
                upper = false
            default: return false
            }
        }
        return !runLooksLikeKey()
    }

    /// Key prefixes a quoted value must not start with: common vendors' (lower case; an upper-case value is never
    /// quoted) and every built-in app spec's required and expected prefixes and token kinds. Written out rather
    /// than read from the specs at start-up: that decoded all fifteen built-in specs in every `get` that shows a
    /// name (0.7 ms of its start-up); `KeyRulesTests` checks the list against `derivedKeyPrefixes()`.
    package static let keyPrefixes: [String] =
        vendorKeyPrefixes + [
            "rp_", "reminix_sk_", "reminix_ct_", "reminix_pat_", "flux_dev_", "flux_prod_", "sk-proj-", "sk-svcacct-",
            "sk-admin-", "sk-ant-", "sk-ant-api03-", "sk-ant-admin01-", "sk_live_", "sk_test_", "rk_live_", "rk_test_",
            "gldt-", "glptt-", "glrt-", "dop_v1_", "doo_v1_", "sntrys_", "sntryu_",
        ]

    /// Common vendors' key prefixes, lower case.
    static let vendorKeyPrefixes = [
        "rfx_", "sk-", "sk_", "pk_", "rk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox",
        "npm_", "pypi-", "hf_",
    ]

    /// The list `keyPrefixes` must be: the vendors' prefixes, then those of the built-in specs not among them.
    package static func derivedKeyPrefixes() -> [String] {
        var prefixes = vendorKeyPrefixes
        for spec in AppCatalog.builtIn {
            for prefix in spec.requiredPrefixes + spec.expectedPrefixes + spec.tokenKinds.map(\.prefix) {
                let lower = prefix.lowercased()
                if !prefixes.contains(lower) { prefixes.append(lower) }
            }
        }
        return prefixes
    }

    /// What a message shows for a value given by the user or read from a file (an app or profile name): the value
    /// when `isShowableName`, else `notShown`, so a key typed where a name belongs is never echoed.
    public static func shownName(_ value: String) -> String { isShowableName(value) ? value : notShown }

    /// The placeholder for a value that may be a key.
    public static let notShown = "<not shown: it may be a key>"

    /// Control characters (Cc: C0, DEL, C1) and the Unicode line and paragraph separators.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.properties.generalCategory == .control
    }

    /// Characters that show nothing: the format category (Cf: zero-width space, joiners, byte-order mark, soft hyphen,
    /// bidirectional controls, tags), every other default-ignorable code point (Hangul fillers U+115F, U+1160,
    /// U+3164, U+FFA0, the combining grapheme joiner U+034F, variation selectors U+FE00-U+FE0F, U+E0100-U+E01EF) and
    /// the Braille blank U+2800.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x2800 || scalar.properties.isDefaultIgnorableCodePoint
            || scalar.properties.generalCategory == .format
    }

    /// What in `key` a person cannot see when pasting it, as words for a warning ("a trailing space and a zero-width
    /// character"), or nil. Leading or trailing whitespace, non-ASCII spaces (NBSP and the like) anywhere, and
    /// invisible characters (`isInvisible`: Hangul fillers, variation selectors, U+034F, U+2800...) anywhere.
    public static func invisibleCharacters(_ key: String) -> String? {
        var found: [String] = []
        let scalars = key.unicodeScalars
        if let first = scalars.first, first.properties.isWhitespace { found.append("leading whitespace") }
        if let last = scalars.last, last.properties.isWhitespace { found.append("trailing whitespace") }
        if key.utf8.contains(where: { $0 >= 0x80 }) {
            if scalars.contains(where: { $0.value >= 0x80 && $0.properties.isWhitespace }) {
                found.append("a non-breaking or other non-ASCII space")
            }
            if scalars.contains(where: isInvisible) {
                found.append("an invisible character (such as U+3164, U+034F or a variation selector)")
            }
        }
        if found.isEmpty { return nil }
        if found.count == 1 { return found[0] }
        return found.dropLast().joined(separator: ", ") + " and " + found[found.count - 1]
    }

    /// The warning for a key about to be stored that holds characters a person cannot see (nil when none).
    public static func invisibleCharacterWarning(_ secret: Secret) -> KeywayWarning? {
        guard let what = invisibleCharacters(secret.reveal()) else { return nil }
        return KeywayWarning(
            .invisibleCharacters,
            "The API key contains \(what), which cannot be seen when it is printed; it was stored as given. If it "
                + "was pasted with them by mistake, log in again with the key alone.")
    }
}

extension KeywayWarning.Code {
    /// A key being stored contains leading or trailing whitespace, a non-ASCII space or an invisible character.
    public static let invisibleCharacters = KeywayWarning.Code(rawValue: "invisible-characters")
}
