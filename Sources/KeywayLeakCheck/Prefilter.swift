/// One pass over the bytes for every rule's keywords at once. A keyword can only start at the start of a word or of a
/// part of one (`DB_PASSWORD`, `dbPassword`, `spring.datasource.password`, `8Q~`: after a byte that is not a letter
/// or digit, at a lower-to-upper-case or digit-to-letter step, or at a byte that is not a letter or digit itself).
/// The pass tests each byte against one small table (whether a keyword starts with it there); only where one may
/// start does it walk a trie of every keyword (ASCII case folded), which ends at the first byte no keyword
/// continues with. So the scan costs about the same whatever the number of rules, and a rule's own matcher runs only
/// where one of its keywords was found.
struct Prefilter: Sendable {
    /// `states * 256` next trie states; -1 where no keyword continues.
    private let trie: [Int32]
    /// For each state, the patterns that end there (empty for most).
    private let outputs: [[Int32]]
    /// Whether each state ends a pattern.
    private let ends: [Bool]
    /// `gate[previousClass << 8 | byte]`: whether a keyword may start at `byte` after a byte of that class.
    private let gate: [Bool]
    /// Bit `a << 8 | b`: whether some pattern starts with the bytes `a b` (either case).
    private let pairs: [UInt64]
    /// Each pattern's length.
    let lengths: [Int]

    /// Byte classes: 0 neither letter nor digit, 1 lower case, 2 upper case, 3 digit.
    static let classes: [UInt8] = (0..<256).map { b in
        switch b {
        case 97...122: return 1
        case 65...90: return 2
        case 48...57: return 3
        default: return 0
        }
    }

    /// A byte and, for a letter, its other case.
    static func cases(_ b: UInt8) -> [UInt8] { b >= 97 && b <= 122 ? [b, b - 32] : [b] }

    /// `patterns` in lower case (ASCII), at least 2 bytes each; matching ignores ASCII case.
    init(_ patterns: [[UInt8]]) {
        var next: [[Int32]] = [[Int32](repeating: -1, count: 256)]
        var out: [[Int32]] = [[]]
        for (index, pattern) in patterns.enumerated() {
            var state = 0
            for b in pattern {
                if next[state][Int(b)] < 0 {
                    next[state][Int(b)] = Int32(next.count)
                    next.append([Int32](repeating: -1, count: 256))
                    out.append([])
                }
                state = Int(next[state][Int(b)])
            }
            out[state].append(Int32(index))
        }
        // Upper case reads as lower case.
        for s in 0..<next.count {
            for b in 65...90 { next[s][b] = next[s][b + 32] }
        }
        var trie = [Int32](repeating: -1, count: next.count * 256)
        for s in 0..<next.count {
            for b in 0..<256 { trie[s * 256 + b] = next[s][b] }
        }
        var gate = [Bool](repeating: false, count: 4 * 256)
        for previous in 0..<4 {
            for b in 0..<256 where next[0][b] >= 0 {
                let current = Self.classes[b]
                gate[previous << 8 | b] =
                    previous == 0 || current == 0 || (previous == 1 && current == 2)
                    || (previous == 3 && current != 3)
            }
        }
        var pairs = [UInt64](repeating: 0, count: 65536 / 64)
        for pattern in patterns where pattern.count >= 2 {
            for a in Self.cases(pattern[0]) {
                for b in Self.cases(pattern[1]) {
                    let pair = Int(a) << 8 | Int(b)
                    pairs[pair >> 6] |= 1 << UInt64(pair & 63)
                }
            }
        }
        self.pairs = pairs
        self.trie = trie
        self.outputs = out
        self.ends = out.map { !$0.isEmpty }
        self.gate = gate
        self.lengths = patterns.map(\.count)
    }

    /// Calls `body(pattern, end)` for every pattern occurrence at a word or word-part start, `end` being the index
    /// after its last byte, in order of the start (shorter patterns first).
    @inline(__always)
    func run(_ base: UnsafePointer<UInt8>, _ n: Int, _ body: (Int, Int) -> Void) {
        for hit in hits(base, n) { body(Int(hit.pattern), hit.end) }
    }

    /// The occurrences `run` reports, collected by one tight loop: the gate table for the first byte, the pair
    /// table for the first two, then the trie.
    @inline(never)
    func hits(_ base: UnsafePointer<UInt8>, _ n: Int) -> [(pattern: Int32, end: Int)] {
        var found: [(pattern: Int32, end: Int)] = []
        trie.withUnsafeBufferPointer { trie in
            gate.withUnsafeBufferPointer { gate in
                pairs.withUnsafeBufferPointer { pairs in
                    Self.classes.withUnsafeBufferPointer { classes in
                        ends.withUnsafeBufferPointer { ends in
                            let trie = trie.baseAddress!, gate = gate.baseAddress!, pairs = pairs.baseAddress!
                            let classes = classes.baseAddress!, ends = ends.baseAddress!
                            var previous = 0
                            var i = 0
                            while i < n {
                                let b = Int(base[i])
                                if gate[previous << 8 | b], i + 1 < n {
                                    let pair = b << 8 | Int(base[i + 1])
                                    if pairs[pair >> 6] & (1 << UInt64(pair & 63)) != 0 {
                                        var state = 0
                                        var k = i
                                        while k < n {
                                            let t = trie[state << 8 | Int(base[k])]
                                            if t < 0 { break }
                                            state = Int(t)
                                            k += 1
                                            if ends[state] {
                                                for pattern in outputs[state] { found.append((pattern, k)) }
                                            }
                                        }
                                    }
                                }
                                previous = Int(classes[b])
                                i += 1
                            }
                        }
                    }
                }
            }
        }
        return found
    }
}
