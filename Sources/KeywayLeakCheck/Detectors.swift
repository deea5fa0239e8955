import Glibc
import KeywayCore

/// A key found in a buffer.
package struct ContentMatch: Sendable {
    public let rule: SecretRule
    /// 1-based.
    public let line: Int
    /// The whole key (prefix included); a private key's whole block.
    public let secret: Secret
    /// Whether the line carries a `keyway:allow` comment.
    public let allowed: Bool
    /// The masked form shown in reports.
    public let masked: String
    /// The key of the Kubernetes Secret `data:` value the key was found in, decoded; nil when found as it is.
    public let encodedIn: String?

    init(rule: SecretRule, line: Int, secret: Secret, allowed: Bool, masked: String, encodedIn: String? = nil) {
        self.rule = rule
        self.line = line
        self.secret = secret
        self.allowed = allowed
        self.masked = masked
        self.encodedIn = encodedIn
    }
}

/// Compares candidate tokens with the SHA-256 digests of the values Keyway stores. Holds only digests and lengths.
public struct StoredSecretMatcher: Sendable {
    /// Digest to `app/profile` labels (for the message).
    let entries: [[UInt8]: String]
    let lengths: Set<Int>

    /// From the stored secrets themselves (digested at once; nothing else is kept).
    public init(secrets: [(label: String, secret: Secret)]) {
        var entries: [[UInt8]: String] = [:]
        var lengths = Set<Int>()
        for (label, secret) in secrets where secret.count >= 8 {
            let bytes = Array(secret.reveal().utf8)
            let digest = SHA256.hash(bytes)
            entries[digest] = entries[digest].map { $0 + ", " + label } ?? label
            lengths.insert(bytes.count)
        }
        self.entries = entries
        self.lengths = lengths
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    func label(for token: UnsafeBufferPointer<UInt8>) -> String? {
        guard lengths.contains(token.count) else { return nil }
        return entries[SHA256.hash(token)]
    }
}

extension ContentScanner {
    /// The app of a stored value's label (`app/profile (store)`), when every store holding it files it under the
    /// same app.
    static func app(ofLabel label: String) -> String? {
        let apps = Set(
            label.split(separator: ",").compactMap { part in
                part.drop { $0 == " " }.split(separator: "/", maxSplits: 1).first.map(String.init)
            })
        return apps.count == 1 ? apps.first : nil
    }

    /// Tokens equal to a stored value. A token is a maximal run of bytes other than whitespace, quotes and
    /// `,;:=()[]{}<>@`.
    func scanStored(
        _ stored: StoredSecretMatcher, _ base: UnsafePointer<UInt8>, _ n: Int, existing: [ContentMatch]
    ) -> [ContentMatch] {
        var found: [ContentMatch] = []
        var lines = LineCounter()
        var start = 0
        var i = 0
        while i <= n {
            if i == n || isDelimiter(base[i]) {
                if i > start {
                    let token = UnsafeBufferPointer(start: base + start, count: i - start)
                    if let label = stored.label(for: token) {
                        let text = String(decoding: token, as: UTF8.self)
                        let line = lines.line(at: start, base)
                        let secret = Secret(text)
                        if !existing.contains(where: { $0.line == line && $0.secret == secret }) {
                            found.append(
                                ContentMatch(
                                    rule: SecretRule(
                                        id: Self.storedRule.id, name: "The key Keyway stores for \(label)",
                                        prefixes: [], shape: Self.storedRule.shape, app: Self.app(ofLabel: label)),
                                    line: line, secret: secret, allowed: lineHasAllow(base, n, at: start),
                                    masked: Masking.mask(text)))
                        }
                    }
                }
                start = i + 1
            }
            i += 1
        }
        return found
    }

}

@inline(__always) func isWordByte(_ b: UInt8) -> Bool {
    (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 95
}

@inline(__always) func isDelimiter(_ b: UInt8) -> Bool {
    switch b {
    case 9, 10, 11, 12, 13, 32, 34, 39, 96, 44, 59, 58, 61, 40, 41, 91, 93, 123, 125, 60, 62, 64: return true
    default: return false
    }
}

@inline(__always) func startsWith(_ p: UnsafePointer<UInt8>, _ available: Int, _ prefix: [UInt8]) -> Bool {
    guard available >= prefix.count else { return false }
    for k in 0..<prefix.count where p[k] != prefix[k] { return false }
    return true
}

/// Whether the line holding `position` contains `keyway:allow`.
func lineHasAllow(_ base: UnsafePointer<UInt8>, _ n: Int, at position: Int) -> Bool {
    var start = position
    while start > 0, base[start - 1] != 10 { start -= 1 }
    var end = position
    while end < n, base[end] != 10 { end += 1 }
    let marker = Array("keyway:allow".utf8)
    guard end - start >= marker.count else { return false }
    var k = start
    while k + marker.count <= end {
        if base[k] == 107, startsWith(base + k, end - k, marker) { return true }
        k += 1
    }
    return false
}

/// Line numbers computed lazily: only the bytes between two matches are counted.
struct LineCounter {
    var position = 0
    var line = 1
    mutating func line(at offset: Int, _ base: UnsafePointer<UInt8>) -> Int {
        if offset < position {
            position = 0
            line = 1
        }
        while position < offset {
            if base[position] == 10 { line += 1 }
            position += 1
        }
        return line
    }
}

/// The entropy gate and placeholder checks.
package enum Randomness {
    /// Shannon entropy in bits per byte.
    public static func entropy<C: Collection>(_ bytes: C) -> Double where C.Element == UInt8 {
        guard !bytes.isEmpty else { return 0 }
        var counts = [Int](repeating: 0, count: 256)
        for b in bytes { counts[Int(b)] += 1 }
        let total = Double(bytes.count)
        var h = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / total
            h -= p * log2(p)
        }
        return h
    }

    static let placeholderWords = [
        "example", "xxxx", "placeholder", "your", "changeme", "dummy", "sample", "redacted", "fake", "insert",
        "replace", "secret", "token", "apikey",
    ].map { Array($0.utf8) }

    /// Whether a key body looks random enough to be a real key: entropy of at least 3 bits per character (the
    /// bodies are at least 10 long), no placeholder word (`EXAMPLE`, `xxxx`, `your`...), no run of 5 identical
    /// characters, not mostly ascending sequences (`abc123def456`), and not a lower-case word without digits (an
    /// identifier such as `rp_handlerfunctionname`).
    public static func looksLikeKey(_ body: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = body.count
        guard n >= 8 else { return false }
        let counts = CharacterCounts(body)
        if counts.longestRun >= 5 || counts.ascending * 4 > n - 1 { return false }
        if counts.digits == 0, counts.lower * 10 >= (counts.lower + counts.upper) * 8 { return false }
        if counts.digits == n { return false }
        let lowered = ContentScanner.folded(Array(body))
        for word in placeholderWords where contains(lowered, word) { return false }
        return entropy(body) >= 3.0
    }

    /// Words that make a value a placeholder, a default or an example rather than a password.
    static let placeholderValues = [
        "example", "xxx", "placeholder", "your", "changeme", "change_me", "changeit", "dummy", "sample", "redacted",
        "fake", "insert", "replace", "password", "passwd", "secret", "token", "apikey", "api_key", "todo", "fixme",
        "foobar", "test", "default", "here", "none", "null", "undefined", "enter", "mypass", "1234", "abcd", "qwerty",
        "***", "...", "${", "{{", "<", "%s", "%(", "env(", "getenv", "environ", "process.env", "vault:", "ref+",
        "secretkeyref", "valuefrom",
    ].map { Array($0.utf8) }

    /// Whether a value assigned to `password`, `secret`, `api_key`, `token` looks like a secret rather than code,
    /// a reference or a placeholder: not a variable, template, function call, path or URL; no placeholder word;
    /// not a dotted identifier or words without digits; not a UUID or only digits; at least 3 bits of entropy per
    /// character, two classes of characters (three below 12 characters).
    public static func looksLikeSecretValue(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = v.count
        guard n >= 8, let first = v.first else { return false }
        // $VAR, %VAR%, {ref}, <placeholder>, [list], (call), @annotation, &anchor, *alias, !tag, ~home, /path
        if "$%{<[(@&*!~/#\\".utf8.contains(first) { return false }
        let lowered = ContentScanner.folded(Array(v))
        for word in placeholderValues where contains(lowered, word) { return false }
        for scheme in ["http:", "https:", "file:", "./", "../", "arn:"] where lowered.starts(with: Array(scheme.utf8)) {
            return false
        }
        if v.contains(40) || v.contains(32) { return false }
        if Formats.isUUID(v) { return false }
        let counts = CharacterCounts(v)
        let digits = counts.digits
        if counts.longestRun >= 5 || digits == n || counts.ascending * 4 > n - 1 { return false }
        // Words and identifiers (`my-db-password`, `this.props.token`, `Config.SECRET_KEY`).
        if digits == 0, v.allSatisfy({ isWordByte($0) || $0 == 46 || $0 == 45 || $0 == 36 }) { return false }
        let classes = [counts.lower, counts.upper, digits, counts.other].filter { $0 > 0 }.count
        if classes < 2 || (n < 12 && classes < 3) { return false }
        return entropy(v) >= 3.0
    }

    /// A password in a URL or basic credentials: at least 6 characters, no placeholder word or template, not a
    /// single word of letters; at least 2.5 bits of entropy per character.
    public static func looksLikePassword(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        guard v.count >= 6, let first = v.first, !"$%{<[*".utf8.contains(first) else { return false }
        let lowered = ContentScanner.folded(Array(v))
        for word in placeholderValues where contains(lowered, word) { return false }
        for word in ["pass", "pwd", "user", "admin", "guest", "root", "postgres", "mysql", "redis", "rabbit"]
        where contains(lowered, Array(word.utf8)) {
            return false
        }
        if v.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) }) { return false }
        return entropy(v) >= 2.5
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                let first = n[0], last = h.count - n.count
                var i = 0
                while i <= last {
                    if h[i] == first {
                        var k = 1
                        while k < n.count, h[i + k] == n[k] { k += 1 }
                        if k == n.count { return true }
                    }
                    i += 1
                }
                return false
            }
        }
    }
}

/// Counts of a key's or value's characters, for the gates.
struct CharacterCounts {
    var lower = 0, upper = 0, digits = 0, other = 0
    /// Bytes one more than the byte before them (`abc`, `123`).
    var ascending = 0
    /// The longest run of one byte repeated.
    var longestRun = 0

    init(_ v: UnsafeBufferPointer<UInt8>) {
        var run = 0
        for k in 0..<v.count {
            let b = v[k]
            switch b {
            case 48...57: digits += 1
            case 97...122: lower += 1
            case 65...90: upper += 1
            default: other += 1
            }
            if k > 0, b == v[k - 1] &+ 1 { ascending += 1 }
            run = k > 0 && b == v[k - 1] ? run + 1 : 1
            longestRun = max(longestRun, run)
        }
    }
}
