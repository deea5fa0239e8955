import KeywayCore

/// Finds keys in bytes.
package struct ContentScanner: Sendable {
    public let rules: [SecretRule]
    public let stored: StoredSecretMatcher?
    /// The rule used for a stored value.
    public static let storedRule = SecretRule(
        id: "keyway-stored-key", name: "A key Keyway stores", prefixes: [],
        shape: .token(alphabet: .urlSafe, minimum: 8, maximum: 4096), family: "Keyway",
        remediation: "Rotate the key at its provider and store the new one with keyway login.")

    /// What a prefilter pattern stands for.
    enum Action: Sendable {
        /// A key of a rule that starts at a prefix may start where the pattern starts.
        case start
        /// The rule's keyword or infix literal ends here.
        case rule(Int)
    }

    private let prefilter: Prefilter
    private let actions: [[Action]]
    /// For each byte, the indices into `candidates` of the (rule, prefix) pairs starting with it, longest first.
    private let firstByte: [[Int]]
    private let candidates: [(rule: Int, prefix: [UInt8])]

    public init(rules: [SecretRule], stored: StoredSecretMatcher? = nil) {
        self.rules = rules
        self.stored = stored?.isEmpty == true ? nil : stored
        var candidates: [(Int, [UInt8])] = []
        var table = [[Int]](repeating: [], count: 256)
        var patterns: [[UInt8]] = []
        var actions: [[Action]] = []
        var patternIndex: [[UInt8]: Int] = [:]
        func add(_ pattern: [UInt8], _ action: Action) {
            guard pattern.count >= 2 else { return }
            if let known = patternIndex[pattern] {
                if case .start = action, actions[known].contains(where: { if case .start = $0 { true } else { false } })
                {
                    return
                }
                actions[known].append(action)
            } else {
                patternIndex[pattern] = patterns.count
                patterns.append(pattern)
                actions.append([action])
            }
        }
        var startPatterns: [[UInt8]] = []
        for (index, rule) in rules.enumerated() {
            if rule.startsAtPrefix {
                for prefix in rule.prefixes where !prefix.isEmpty {
                    let bytes = Array(prefix.utf8)
                    table[Int(bytes[0])].append(candidates.count)
                    candidates.append((index, bytes))
                    startPatterns.append(Self.folded(bytes))
                }
            } else {
                for keyword in rule.keywords { add(Self.folded(Array(keyword.utf8)), .rule(index)) }
            }
        }
        // A start pattern that another one begins is left out: the shorter one finds the same places, and the
        // matcher tries every prefix there.
        let starts = Set(startPatterns)
        for pattern in starts.sorted(by: { $0.lexicographicallyPrecedes($1) })
        where !(1..<pattern.count).contains(where: { starts.contains(Array(pattern.prefix($0))) }) {
            add(pattern, .start)
        }
        // Longer prefixes first, so `reminix_pat_` wins over a shorter overlapping one.
        for i in 0..<256 { table[i].sort { candidates[$0].1.count > candidates[$1].1.count } }
        self.firstByte = table
        self.candidates = candidates
        self.prefilter = Prefilter(patterns)
        self.actions = actions
    }

    static func folded(_ bytes: [UInt8]) -> [UInt8] { bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 } }

    /// How many leading bytes `isBinary` looks at.
    public static let binaryCheckLength = 8000

    /// Whether a buffer looks binary (a NUL byte in its first 8000 bytes, as git decides).
    public static func isBinary(_ bytes: [UInt8]) -> Bool {
        bytes.prefix(binaryCheckLength).contains(0)
    }

    /// A match before line numbers: the bytes `start..<end` of the buffer, the secret `secretStart..<secretEnd`.
    struct Candidate {
        let rule: Int
        let start: Int
        let end: Int
        let secret: String
        let masked: String
    }

    /// Every key in `bytes`, in order; in a Kubernetes Secret manifest, also those its `data:` values hold decoded
    /// (`KubernetesSecrets`), reported at the value's line. Where a value's own text matched a rule that is not a
    /// context rule (a base64 private key), that finding stands; a context rule's finding of the encoded text
    /// (`password: <base64>`) gives way to what the decoded value holds.
    public func scan(_ bytes: [UInt8]) -> [ContentMatch] {
        var matches = scanText(bytes)
        let values = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { KubernetesSecrets.values($0, buffer.count) } ?? []
        }
        guard !values.isEmpty else { return matches }
        for value in values {
            // The key names the value, as an assignment would: context rules see `password: <decoded>`.
            let inner = scanText(Array(value.key.utf8) + [58, 32] + value.decoded)
            guard !inner.isEmpty, !matches.contains(where: { value.lines.contains($0.line) && !$0.rule.isContextRule })
            else { continue }
            matches.removeAll { value.lines.contains($0.line) && $0.rule.isContextRule }
            let allowed = bytes.withUnsafeBufferPointer { lineHasAllow($0.baseAddress!, $0.count, at: value.lineStart) }
            for match in inner {
                matches.append(
                    ContentMatch(
                        rule: match.rule, line: value.lines.lowerBound, secret: match.secret,
                        allowed: allowed || match.allowed, masked: match.masked, encodedIn: value.key))
            }
        }
        return matches.sorted { $0.line < $1.line }
    }

    /// Every key in `bytes` as they are, in order.
    private func scanText(_ bytes: [UInt8]) -> [ContentMatch] {
        var matches: [ContentMatch] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let n = buffer.count
            var found: [Candidate] = []
            var resume = 0
            var lastStart = -1
            prefilter.run(base, n) { pattern, end in
                let begin = end - prefilter.lengths[pattern]
                for action in actions[pattern] {
                    switch action {
                    case .start:
                        guard begin >= resume, begin != lastStart else { continue }
                        lastStart = begin
                        if let candidate = matchAtStart(base, n, begin) {
                            found.append(candidate)
                            resume = candidate.end
                        }
                    case .rule(let index):
                        if let candidate = matchRule(index, base, n, begin: begin, end: end) {
                            found.append(candidate)
                        }
                    }
                }
            }
            var lines = LineCounter()
            for candidate in Self.resolveOverlaps(found.filter { kept($0) }) {
                matches.append(
                    ContentMatch(
                        rule: rules[candidate.rule], line: lines.line(at: candidate.start, base),
                        secret: Secret(candidate.secret), allowed: lineHasAllow(base, n, at: candidate.start),
                        masked: candidate.masked))
            }
            if let stored {
                // A stored value says more than a context rule naming the same value: it replaces it.
                let own = scanStored(stored, base, n, existing: matches.filter { !$0.rule.isContextRule })
                matches.removeAll { m in
                    m.rule.isContextRule && own.contains { $0.line == m.line && $0.secret == m.secret }
                }
                matches += own
            }
        }
        return matches.sorted { $0.line < $1.line }
    }

    /// Whether a user rule's entropy floor and allowlist let a match through.
    private func kept(_ candidate: Candidate) -> Bool {
        let rule = rules[candidate.rule]
        if let floor = rule.entropyFloor, Randomness.entropy(Array(candidate.secret.utf8)) < floor { return false }
        return !rule.allowlist.contains { candidate.secret.contains($0) }
    }

    /// Overlapping matches: the rule listed first wins (a format rule over a context rule naming the same value);
    /// the result is in buffer order.
    static func resolveOverlaps(_ found: [Candidate]) -> [Candidate] {
        let sorted = found.sorted { ($0.start, $0.rule) < ($1.start, $1.rule) }
        var result: [Candidate] = []
        var cluster: [Candidate] = []
        var clusterEnd = -1
        func flush() {
            var kept: [Candidate] = []
            for c in cluster.sorted(by: { ($0.rule, $0.start) < ($1.rule, $1.start) })
            where !kept.contains(where: { $0.start < c.end && c.start < $0.end }) {
                kept.append(c)
            }
            result += kept.sorted { $0.start < $1.start }
            cluster.removeAll()
        }
        for c in sorted {
            if c.start >= clusterEnd, !cluster.isEmpty { flush() }
            cluster.append(c)
            clusterEnd = max(clusterEnd, c.end)
        }
        if !cluster.isEmpty { flush() }
        return result
    }

    // MARK: Keys that start at a prefix

    private func matchAtStart(_ base: UnsafePointer<UInt8>, _ n: Int, _ i: Int) -> Candidate? {
        let b = base[i]
        if i > 0 && isWordByte(base[i - 1]) { return nil }
        if b == 45 && i > 0 && base[i - 1] == 45 { return nil }
        for slot in firstByte[Int(b)] {
            let (ruleIndex, prefix) = candidates[slot]
            guard i + prefix.count <= n, startsWith(base + i, n - i, prefix) else { continue }
            let rule = rules[ruleIndex]
            let bodyStart = i + prefix.count
            switch rule.shape {
            case .token(let alphabet, let minimum, let maximum):
                guard let end = tokenEnd(alphabet, minimum, maximum, base, n, bodyStart),
                    passes(rule.check, UnsafeBufferPointer(start: base + bodyStart, count: end - bodyStart))
                else { continue }
                let text = string(base, i, end)
                return Candidate(
                    rule: ruleIndex, start: i, end: end, secret: text,
                    masked: Masking.mask(text, knownPrefix: String(decoding: prefix, as: UTF8.self)))
            case .privateKeyBlock:
                guard let end = privateKeyEnd(base, n, start: i, afterBegin: bodyStart) else { continue }
                return Candidate(
                    rule: ruleIndex, start: i, end: end, secret: string(base, i, end),
                    masked: maskedBlock(UnsafeBufferPointer(start: base + i, count: end - i)))
            case .encodedPrivateKey:
                guard let end = encodedPrivateKeyEnd(base, n, start: i) else { continue }
                return Candidate(
                    rule: ruleIndex, start: i, end: end, secret: string(base, i, end),
                    masked: "LS0tLS1CRUdJTi... (base64 of a private key, \(end - i) bytes)")
            case .puttyKey:
                guard let end = puttyKeyEnd(base, n, start: i, afterPrefix: bodyStart) else { continue }
                return Candidate(
                    rule: ruleIndex, start: i, end: end, secret: string(base, i, end),
                    masked: maskedBlock(UnsafeBufferPointer(start: base + i, count: end - i)))
            case .jwt:
                guard let end = jwtEnd(base, n, start: i) else { continue }
                let text = string(base, i, end)
                return Candidate(rule: ruleIndex, start: i, end: end, secret: text, masked: Masking.mask(text))
            default:
                continue
            }
        }
        return nil
    }

    /// Where a token body from `bodyStart` ends, or nil when what follows the prefix is not a key (too short, too
    /// long, wrong characters, glued to a longer word, a placeholder, low entropy).
    private func tokenEnd(
        _ alphabet: SecretRule.Alphabet, _ minimum: Int, _ maximum: Int, _ base: UnsafePointer<UInt8>, _ n: Int,
        _ bodyStart: Int
    ) -> Int? {
        var j = bodyStart
        while j < n, j - bodyStart <= maximum, alphabet.contains(base[j]) { j += 1 }
        // A dot after the key ends a sentence.
        if alphabet.hasDot, j > bodyStart, base[j - 1] == 46, j - bodyStart <= maximum + 1 {
            j -= 1
        }
        let length = j - bodyStart
        guard length >= minimum, length <= maximum else { return nil }
        // The token must end here: not in the middle of a longer word.
        if j < n, isWordByte(base[j]) || (base[j] == 45 && alphabet != .password) { return nil }
        let body = UnsafeBufferPointer(start: base + bodyStart, count: length)
        return Randomness.looksLikeKey(body) ? j : nil
    }

    private func passes(_ check: SecretRule.Check, _ body: UnsafeBufferPointer<UInt8>) -> Bool {
        switch check {
        case .none, .secretValue, .netrcLine, .base64UserPassword, .digitBeforeInfix: return true
        case .crc32Base62: return Checksums.githubStyle(body)
        case .contains(let literal): return Randomness.contains(Array(body), Array(literal.utf8))
        case .separator(let byte, let at):
            guard at < body.count, body[at] == byte else { return false }
            return body.enumerated().allSatisfy { $0.offset == at || $0.element != byte }
        case .telegramBot: return Formats.isTelegramBotToken(body)
        case .discordBot: return Formats.isDiscordBotToken(body)
        case .uuid: return Formats.isUUID(body)
        }
    }

    // MARK: Keyword and infix rules

    private func matchRule(_ index: Int, _ base: UnsafePointer<UInt8>, _ n: Int, begin: Int, end: Int) -> Candidate? {
        let rule = rules[index]
        switch rule.shape {
        case .infix(let before, let beforeMinimum, let beforeMaximum, let after, let afterMinimum, let afterMaximum):
            // The literal is matched exactly (the prefilter ignores case).
            guard let literal = rule.prefixes.first, startsWith(base + begin, n - begin, Array(literal.utf8))
            else { return nil }
            var j = begin
            while j > 0, begin - j < beforeMaximum, before.contains(base[j - 1]) { j -= 1 }
            guard begin - j >= beforeMinimum else { return nil }
            if j > 0, before.contains(base[j - 1]) || isWordByte(base[j - 1]) { return nil }
            var k = end
            while k < n, k - end < afterMaximum, after.contains(base[k]) { k += 1 }
            guard k - end >= afterMinimum else { return nil }
            if k < n, after.contains(base[k]) || isWordByte(base[k]) { return nil }
            if rule.check == .digitBeforeInfix, !(base[begin - 1] >= 48 && base[begin - 1] <= 57) { return nil }
            let whole = UnsafeBufferPointer(start: base + j, count: k - j)
            guard Randomness.looksLikeKey(whole), passes(rule.check, whole) else { return nil }
            let text = string(base, j, k)
            return Candidate(rule: index, start: j, end: k, secret: text, masked: Masking.mask(text))
        case .assignment(let alphabet, let minimum, let maximum):
            guard
                let found = Context.assignment(
                    rule, index, alphabet: alphabet, minimum: minimum, maximum: maximum, base, n, begin: begin,
                    end: end)
            else { return nil }
            // A value in a format the table knows (`flux_dev_...`, `ghp_...`) is that format's rule's to judge.
            return hasKnownPrefix(base, n, at: found.start) ? nil : found
        case .credentialURL:
            return Context.credentialURL(index, base, n, begin: begin, end: end)
        case .basicAuth:
            return Context.basicAuth(index, base, n, begin: begin, end: end)
        case .sasSignature:
            return Context.sasSignature(index, base, n, begin: begin, end: end)
        default:
            return nil
        }
    }

    /// Whether a prefix of a rule that starts at its prefix starts at `i`.
    private func hasKnownPrefix(_ base: UnsafePointer<UInt8>, _ n: Int, at i: Int) -> Bool {
        guard i < n else { return false }
        return firstByte[Int(base[i])].contains { slot in
            let prefix = candidates[slot].prefix
            return prefix.count >= 3 && startsWith(base + i, n - i, prefix)
        }
    }

    // MARK: Blocks

    /// `-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----`, then at least 64 base64 characters of key material with high
    /// entropy before `-----END` (or the end of the buffer). Lines may be separated by newlines or, inside a JSON
    /// string, by `\n` escapes. Returns the end of the END line (or of the material).
    func privateKeyEnd(_ base: UnsafePointer<UInt8>, _ n: Int, start: Int, afterBegin: Int) -> Int? {
        var j = afterBegin
        while j < n, j - afterBegin < 40, (base[j] >= 65 && base[j] <= 90) || base[j] == 32 { j += 1 }
        let label = String(
            decoding: UnsafeBufferPointer(start: base + afterBegin, count: j - afterBegin), as: UTF8.self)
        guard label.hasSuffix("PRIVATE KEY") || label.hasSuffix("PRIVATE KEY BLOCK") else { return nil }
        guard j + 5 <= n, startsWith(base + j, n - j, Array("-----".utf8)) else { return nil }
        j += 5
        var material: [UInt8] = []
        var escaped = false
        let limit = min(n, j + 64 * 1024)
        var k = j
        while k < limit {
            let b = base[k]
            if b == 45, k + 8 <= n, startsWith(base + k, n - k, Array("-----END".utf8)) { break }
            if (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 43 || b == 47 || b == 61 {
                material.append(b)
            } else if b == 92, k + 1 < n, base[k + 1] == 110 || base[k + 1] == 114 {
                // `\n` or `\r` in a JSON string (a Google service-account file's private_key).
                escaped = true
                k += 1
            } else if b != 10 && b != 13 && b != 32 && b != 9 && b != 58 && b != 44 && b != 45 {
                // Header lines of encrypted PEM ("Proc-Type: 4,ENCRYPTED") have ':' ',' '-'; anything else (a
                // quote, "...") means this is not key material written out.
                if material.count >= 64 { break }
                return nil
            }
            k += 1
        }
        guard material.count >= 64, Randomness.entropy(material) >= 4.5 else { return nil }
        // Include the END line: to the end of the line, or inside a JSON string to the END line's closing dashes.
        if k < n, base[k] == 45 {
            if escaped {
                k += 8
                while k < n, (base[k] >= 65 && base[k] <= 90) || base[k] == 32 { k += 1 }
                while k < n, base[k] == 45 { k += 1 }
            } else {
                while k < n, base[k] != 10 { k += 1 }
            }
        }
        return k
    }

    /// base64 of a PEM private key: the base64 run (on one line, or wrapped), decoded and checked as a block.
    private func encodedPrivateKeyEnd(_ base: UnsafePointer<UInt8>, _ n: Int, start: Int) -> Int? {
        var k = start
        var text: [UInt8] = []
        var lineLength = 0
        let limit = min(n, start + 256 * 1024)
        while k < limit {
            let b = base[k]
            if SecretRule.Alphabet.base64.contains(b) {
                text.append(b)
                lineLength += 1
            } else if b == 10, lineLength == 64 || lineLength == 76, k + 1 < n,
                SecretRule.Alphabet.base64.contains(base[k + 1])
            {
                // A wrapped run (`base64` wraps at 76, PEM at 64) goes on at the next line.
                lineLength = 0
            } else {
                break
            }
            k += 1
        }
        if k < n, isWordByte(base[k]) { return nil }
        guard let decoded = Base64.decode(text) else { return nil }
        let found: Bool = decoded.withUnsafeBufferPointer { d in
            guard let db = d.baseAddress, d.count > 11 else { return false }
            return privateKeyEnd(db, d.count, start: 0, afterBegin: 11) != nil
        }
        return found ? k : nil
    }

    /// `PuTTY-User-Key-File-2:` or `-3:` ... `Private-Lines: N` and N lines of base64; the end of the last one.
    private func puttyKeyEnd(_ base: UnsafePointer<UInt8>, _ n: Int, start: Int, afterPrefix: Int) -> Int? {
        guard afterPrefix + 2 <= n, base[afterPrefix] == 50 || base[afterPrefix] == 51, base[afterPrefix + 1] == 58
        else { return nil }
        let limit = min(n, start + 16 * 1024)
        let marker = Array("Private-Lines:".utf8)
        var k = afterPrefix
        while k < limit, !(base[k] == 80 && startsWith(base + k, n - k, marker)) { k += 1 }
        guard k < limit else { return nil }
        k += marker.count
        while k < n, base[k] == 32 { k += 1 }
        var count = 0
        while k < n, base[k] >= 48, base[k] <= 57, count < 1000 {
            count = count * 10 + Int(base[k] - 48)
            k += 1
        }
        guard count > 0 else { return nil }
        var material: [UInt8] = []
        for _ in 0..<count {
            while k < n, base[k] == 13 || base[k] == 10 { k += 1 }
            while k < n, base[k] != 10, base[k] != 13 {
                guard SecretRule.Alphabet.base64.contains(base[k]) else { return nil }
                material.append(base[k])
                k += 1
            }
        }
        guard material.count >= 32, Randomness.entropy(material) >= 4.0 else { return nil }
        return k
    }

    /// `eyJ<header>.<payload>.<signature>`: the header decodes to a JSON object naming its `alg`, the signature is
    /// random.
    private func jwtEnd(_ base: UnsafePointer<UInt8>, _ n: Int, start: Int) -> Int? {
        var k = start
        var dots: [Int] = []
        while k < n, k - start < 16 * 1024, SecretRule.Alphabet.urlSafeDot.contains(base[k]) {
            if base[k] == 46 { dots.append(k) }
            k += 1
        }
        // A dot ending a sentence.
        if let last = dots.last, last == k - 1 {
            dots.removeLast()
            k -= 1
        }
        guard dots.count == 2, k < n ? !isWordByte(base[k]) : true else { return nil }
        let header = Array(UnsafeBufferPointer(start: base + start, count: dots[0] - start))
        let payloadLength = dots[1] - dots[0] - 1
        let signature = UnsafeBufferPointer(start: base + dots[1] + 1, count: k - dots[1] - 1)
        guard header.count >= 10, payloadLength >= 10, signature.count >= 16,
            let decoded = Base64.decode(header, urlSafe: true), decoded.first == 123,
            Randomness.contains(decoded, Array("\"alg\"".utf8)), Randomness.looksLikeKey(signature)
        else { return nil }
        return k
    }

    private func maskedBlock(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var header: [UInt8] = []
        for b in bytes {
            if b == 10 || b == 13 || b == 92 { break }
            header.append(b)
        }
        return String(decoding: header, as: UTF8.self) + " ... (\(bytes.count) bytes)"
    }
}

@inline(__always) func string(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
}
