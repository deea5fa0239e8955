import Glibc
import KeywayCore

/// A content rule: a key format recognised by a literal prefix followed by a body of known characters, or a
/// private-key block. Matching is done on bytes by hand (no regular expressions): the scanner only looks further at
/// positions whose byte can start a prefix and that begin a word.
public struct SecretRule: Sendable, Equatable {
    public enum Shape: Sendable, Equatable {
        /// Prefix, then `minimum...maximum` body bytes from `alphabet`, then a byte that cannot continue a token.
        case token(alphabet: Alphabet, minimum: Int, maximum: Int)
        /// `-----BEGIN [...] PRIVATE KEY-----` followed by base64 key material.
        case privateKeyBlock
    }

    public enum Alphabet: Sendable, Equatable {
        /// A-Z a-z 0-9
        case alphanumeric
        /// A-Z 0-9
        case upperAlphanumeric
        /// A-Z a-z 0-9 _ -
        case urlSafe
        /// A-Z a-z 0-9 -
        case alphanumericDash
        /// A-Z a-z 0-9 _
        case alphanumericUnderscore

        func contains(_ b: UInt8) -> Bool {
            let upper = b >= 65 && b <= 90, lower = b >= 97 && b <= 122, digit = b >= 48 && b <= 57
            switch self {
            case .alphanumeric: return upper || lower || digit
            case .upperAlphanumeric: return upper || digit
            case .urlSafe: return upper || lower || digit || b == 95 || b == 45
            case .alphanumericDash: return upper || lower || digit || b == 45
            case .alphanumericUnderscore: return upper || lower || digit || b == 95
            }
        }
    }

    /// Stable identifier (SARIF rule id, baseline key).
    public let id: String
    /// For people: "GitHub token".
    public let name: String
    public let prefixes: [String]
    public let shape: Shape
    /// The app spec the prefix comes from, for app keys.
    public let app: String?

    public init(id: String, name: String, prefixes: [String], shape: Shape, app: String? = nil) {
        self.id = id
        self.name = name
        self.prefixes = prefixes
        self.shape = shape
        self.app = app
    }

    /// The well-known formats, each chosen for a low false-positive cost.
    public static let wellKnown: [SecretRule] = [
        SecretRule(
            id: "github-token", name: "GitHub token", prefixes: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
            shape: .token(alphabet: .alphanumeric, minimum: 36, maximum: 36)),
        SecretRule(
            id: "github-fine-grained-token", name: "GitHub fine-grained personal access token",
            prefixes: ["github_pat_"], shape: .token(alphabet: .alphanumericUnderscore, minimum: 70, maximum: 100)),
        SecretRule(
            id: "aws-access-key-id", name: "AWS access key id", prefixes: ["AKIA", "ASIA"],
            shape: .token(alphabet: .upperAlphanumeric, minimum: 16, maximum: 16)),
        SecretRule(
            id: "slack-token", name: "Slack token", prefixes: ["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
            shape: .token(alphabet: .alphanumericDash, minimum: 10, maximum: 250)),
        SecretRule(
            id: "stripe-live-key", name: "Stripe live secret or restricted key", prefixes: ["sk_live_", "rk_live_"],
            shape: .token(alphabet: .alphanumeric, minimum: 20, maximum: 250)),
        SecretRule(
            id: "gitlab-token", name: "GitLab personal access token", prefixes: ["glpat-"],
            shape: .token(alphabet: .urlSafe, minimum: 20, maximum: 60)),
        SecretRule(
            id: "npm-token", name: "npm access token", prefixes: ["npm_"],
            shape: .token(alphabet: .alphanumeric, minimum: 36, maximum: 36)),
        SecretRule(
            id: "pypi-token", name: "PyPI API token", prefixes: ["pypi-AgEIcHlwaS5vcmc"],
            shape: .token(alphabet: .urlSafe, minimum: 50, maximum: 300)),
        SecretRule(
            id: "google-api-key", name: "Google API key", prefixes: ["AIza"],
            shape: .token(alphabet: .urlSafe, minimum: 35, maximum: 35)),
        SecretRule(id: "private-key", name: "Private key", prefixes: ["-----BEGIN "], shape: .privateKeyBlock),
    ]

    /// One rule per app spec that names key prefixes (`rfx_`, `rp_`, `reminix_sk_`...): the prefix, then at least
    /// 16 letters and digits.
    public static func appRules(_ specs: [AppSpec]) -> [SecretRule] {
        specs.compactMap { spec in
            var prefixes: [String] = []
            // A prefix a well-known rule already covers (gh's ghp_, npm's npm_) is left to that rule, so a key is
            // reported once, under the rule that knows its exact shape.
            let known = wellKnown.flatMap(\.prefixes)
            for p in spec.requiredPrefixes + spec.expectedPrefixes + spec.tokenKinds.map(\.prefix)
            where !p.isEmpty && !prefixes.contains(p) && !known.contains(where: { p.hasPrefix($0) || $0.hasPrefix(p) })
            {
                prefixes.append(p)
            }
            guard !prefixes.isEmpty else { return nil }
            return SecretRule(
                id: "\(spec.name)-api-key", name: "\(spec.name) API key", prefixes: prefixes,
                shape: .token(alphabet: .alphanumeric, minimum: 16, maximum: 200), app: spec.name)
        }
    }
}

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

/// Finds keys in bytes.
package struct ContentScanner: Sendable {
    public let rules: [SecretRule]
    public let stored: StoredSecretMatcher?
    /// The rule used for a stored value.
    public static let storedRule = SecretRule(
        id: "keyway-stored-key", name: "A key Keyway stores", prefixes: [],
        shape: .token(alphabet: .urlSafe, minimum: 8, maximum: 4096))

    /// For each byte, the indices into `candidates` of the (rule, prefix) pairs starting with it.
    private let firstByte: [[Int]]
    /// 1 where `firstByte` is not empty: the hot loop reads only this.
    private let starts: [UInt8]
    private let candidates: [(rule: Int, prefix: [UInt8])]

    public init(rules: [SecretRule], stored: StoredSecretMatcher? = nil) {
        self.rules = rules
        self.stored = stored?.isEmpty == true ? nil : stored
        var candidates: [(Int, [UInt8])] = []
        var table = [[Int]](repeating: [], count: 256)
        for (index, rule) in rules.enumerated() {
            for prefix in rule.prefixes {
                let bytes = Array(prefix.utf8)
                table[Int(bytes[0])].append(candidates.count)
                candidates.append((index, bytes))
            }
        }
        // Longer prefixes first, so `reminix_pat_` wins over a shorter overlapping one.
        for i in 0..<256 { table[i].sort { candidates[$0].1.count > candidates[$1].1.count } }
        self.firstByte = table
        self.starts = table.map { $0.isEmpty ? 0 : 1 }
        self.candidates = candidates
    }

    /// How many leading bytes `isBinary` looks at.
    public static let binaryCheckLength = 8000

    /// Whether a buffer looks binary (a NUL byte in its first 8000 bytes, as git decides).
    public static func isBinary(_ bytes: [UInt8]) -> Bool {
        bytes.prefix(binaryCheckLength).contains(0)
    }

    /// Every key in `bytes`, in order.
    public func scan(_ bytes: [UInt8]) -> [ContentMatch] {
        var matches: [ContentMatch] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let n = buffer.count
            var lines = LineCounter()
            var i = 0
            starts.withUnsafeBufferPointer { starts in
                while i < n {
                    let b = base[i]
                    if starts[Int(b)] == 0 || (i > 0 && isWordByte(base[i - 1]))
                        || (b == 45 && i > 0 && base[i - 1] == 45)
                    {
                        i += 1
                        continue
                    }
                    let slots = firstByte[Int(b)]
                    var advanced = false
                    for slot in slots {
                        let (ruleIndex, prefix) = candidates[slot]
                        guard i + prefix.count <= n, startsWith(base + i, n - i, prefix) else { continue }
                        let rule = rules[ruleIndex]
                        if let end = matchEnd(rule.shape, base, n, start: i, bodyStart: i + prefix.count) {
                            let line = lines.line(at: i, base)
                            let secretBytes = UnsafeBufferPointer(start: base + i, count: end - i)
                            let text = String(decoding: secretBytes, as: UTF8.self)
                            let masked =
                                rule.shape == .privateKeyBlock
                                ? maskedBlock(secretBytes)
                                : Masking.mask(text, knownPrefix: String(decoding: prefix, as: UTF8.self))
                            matches.append(
                                ContentMatch(
                                    rule: rule, line: line, secret: Secret(text),
                                    allowed: lineHasAllow(base, n, at: i), masked: masked))
                            i = end
                            advanced = true
                            break
                        }
                    }
                    if !advanced { i += 1 }
                }
            }
            if let stored { matches += scanStored(stored, base, n, existing: matches) }
        }
        return matches.sorted { $0.line < $1.line }
    }

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
    private func scanStored(
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

    /// Where the key ends, or nil when what follows the prefix is not a key (too short, wrong characters, a
    /// placeholder, low entropy).
    private func matchEnd(
        _ shape: SecretRule.Shape, _ base: UnsafePointer<UInt8>, _ n: Int, start: Int, bodyStart: Int
    ) -> Int? {
        switch shape {
        case .token(let alphabet, let minimum, let maximum):
            var j = bodyStart
            while j < n, j - bodyStart <= maximum, alphabet.contains(base[j]) { j += 1 }
            let length = j - bodyStart
            guard length >= minimum, length <= maximum else { return nil }
            // The token must end here: not in the middle of a longer word.
            if j < n, isWordByte(base[j]) || base[j] == 45 { return nil }
            let body = UnsafeBufferPointer(start: base + bodyStart, count: length)
            return Randomness.looksLikeKey(body) ? j : nil
        case .privateKeyBlock:
            return privateKeyEnd(base, n, start: start, afterBegin: bodyStart)
        }
    }

    /// `-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----`, then at least 64 base64 characters of key material with high
    /// entropy before `-----END` (or the end of the buffer). Returns the end of the END line (or of the material).
    private func privateKeyEnd(_ base: UnsafePointer<UInt8>, _ n: Int, start: Int, afterBegin: Int) -> Int? {
        var j = afterBegin
        while j < n, j - afterBegin < 40, (base[j] >= 65 && base[j] <= 90) || base[j] == 32 { j += 1 }
        let label = String(
            decoding: UnsafeBufferPointer(start: base + afterBegin, count: j - afterBegin), as: UTF8.self)
        guard label.hasSuffix("PRIVATE KEY") || label.hasSuffix("PRIVATE KEY BLOCK") else { return nil }
        guard j + 5 <= n, startsWith(base + j, n - j, Array("-----".utf8)) else { return nil }
        j += 5
        var material: [UInt8] = []
        let limit = min(n, j + 64 * 1024)
        var k = j
        while k < limit {
            let b = base[k]
            if b == 45, k + 8 <= n, startsWith(base + k, n - k, Array("-----END".utf8)) { break }
            if (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 43 || b == 47 || b == 61 {
                material.append(b)
            } else if b != 10 && b != 13 && b != 32 && b != 9 && b != 58 && b != 44 && b != 45 {
                // Header lines of encrypted PEM ("Proc-Type: 4,ENCRYPTED") have ':' ',' '-'; anything else (a
                // quote, "...", a backslash-n) means this is not key material written out.
                if material.count >= 64 { break }
                return nil
            }
            k += 1
        }
        guard material.count >= 64, Randomness.entropy(material) >= 4.5 else { return nil }
        // Include the END line.
        if k < n, base[k] == 45 {
            while k < n, base[k] != 10 { k += 1 }
        }
        return k
    }

    private func maskedBlock(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var header: [UInt8] = []
        for b in bytes {
            if b == 10 || b == 13 { break }
            header.append(b)
        }
        return String(decoding: header, as: UTF8.self) + " ... (\(bytes.count) bytes)"
    }
}

@inline(__always) func isWordByte(_ b: UInt8) -> Bool {
    (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 95
}

@inline(__always) private func isDelimiter(_ b: UInt8) -> Bool {
    switch b {
    case 9, 10, 11, 12, 13, 32, 34, 39, 96, 44, 59, 58, 61, 40, 41, 91, 93, 123, 125, 60, 62, 64: return true
    default: return false
    }
}

@inline(__always) private func startsWith(_ p: UnsafePointer<UInt8>, _ available: Int, _ prefix: [UInt8]) -> Bool {
    guard available >= prefix.count else { return false }
    for k in 0..<prefix.count where p[k] != prefix[k] { return false }
    return true
}

/// Whether the line holding `position` contains `keyway:allow`.
private func lineHasAllow(_ base: UnsafePointer<UInt8>, _ n: Int, at position: Int) -> Bool {
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
private struct LineCounter {
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
        var lowered = [UInt8](repeating: 0, count: n)
        var digits = 0, lower = 0, upper = 0, ascending = 0, run = 1
        for k in 0..<n {
            let b = body[k]
            if b >= 48 && b <= 57 {
                digits += 1
            } else if b >= 97 && b <= 122 {
                lower += 1
            } else if b >= 65 && b <= 90 {
                upper += 1
            }
            lowered[k] = (b >= 65 && b <= 90) ? b + 32 : b
            if k > 0 {
                if body[k] == body[k - 1] &+ 1 { ascending += 1 }
                if body[k] == body[k - 1] {
                    run += 1
                    if run >= 5 { return false }
                } else {
                    run = 1
                }
            }
        }
        if ascending * 4 > n - 1 { return false }
        if digits == 0, lower * 10 >= (lower + upper) * 8 { return false }
        if digits == n { return false }
        for word in placeholderWords where contains(lowered, word) { return false }
        return entropy(body) >= 3.0
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) {
            var k = 0
            while k < needle.count, haystack[start + k] == needle[k] { k += 1 }
            if k == needle.count { return true }
        }
        return false
    }
}
