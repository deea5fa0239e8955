/// One pass over the bytes for every rule's keywords at once: an Aho–Corasick automaton compiled into a full
/// transition table (a DFA), ASCII case folded. The scan costs one table read and one comparison per byte whatever
/// the number of rules; a rule's own matcher runs only where one of its keywords ends.
struct Prefilter: Sendable {
    /// `states * 256` next states.
    private let delta: [Int32]
    /// States numbered from here on end at least one pattern.
    let firstOutput: Int32
    /// For each output state (`state - firstOutput`), the patterns that end there.
    private let outputs: [[Int32]]
    /// Each pattern's length.
    let lengths: [Int]

    /// `patterns` in lower case (ASCII); matching ignores ASCII case.
    init(_ patterns: [[UInt8]]) {
        var next: [[Int32]] = [[Int32](repeating: -1, count: 256)]
        var ends: [[Int32]] = [[]]
        for (index, pattern) in patterns.enumerated() {
            var state = 0
            for b in pattern {
                if next[state][Int(b)] < 0 {
                    next[state][Int(b)] = Int32(next.count)
                    next.append([Int32](repeating: -1, count: 256))
                    ends.append([])
                }
                state = Int(next[state][Int(b)])
            }
            ends[state].append(Int32(index))
        }
        // Breadth first: each state's failure state is shallower, so its row and outputs are complete.
        var fail = [Int](repeating: 0, count: next.count)
        var queue: [Int] = []
        for b in 0..<256 {
            let t = next[0][b]
            if t < 0 {
                next[0][b] = 0
            } else {
                queue.append(Int(t))
            }
        }
        var head = 0
        while head < queue.count {
            let s = queue[head]
            head += 1
            ends[s] += ends[fail[s]]
            for b in 0..<256 {
                let t = next[s][b]
                if t < 0 {
                    next[s][b] = next[fail[s]][b]
                } else {
                    fail[Int(t)] = Int(next[fail[s]][b])
                    queue.append(Int(t))
                }
            }
        }
        // Upper case reads as lower case.
        for s in 0..<next.count {
            for b in 65...90 { next[s][b] = next[s][b + 32] }
        }
        // Renumber: states without output first, so the hot loop tests one comparison.
        let plain = (0..<next.count).filter { ends[$0].isEmpty }
        let marked = (0..<next.count).filter { !ends[$0].isEmpty }
        var number = [Int32](repeating: 0, count: next.count)
        for (i, s) in (plain + marked).enumerated() { number[s] = Int32(i) }
        var delta = [Int32](repeating: 0, count: next.count * 256)
        for s in 0..<next.count {
            let row = Int(number[s]) * 256
            for b in 0..<256 { delta[row + b] = number[Int(next[s][b])] }
        }
        self.delta = delta
        // The start state has no output (no empty pattern), so it stays 0.
        self.firstOutput = Int32(plain.count)
        self.outputs = marked.map { ends[$0] }
        self.lengths = patterns.map(\.count)
    }

    /// Calls `body(pattern, end)` for every pattern occurrence, `end` being the index after its last byte, in order
    /// of `end`.
    @inline(__always)
    func run(_ base: UnsafePointer<UInt8>, _ n: Int, _ body: (Int, Int) -> Void) {
        delta.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            let first = firstOutput
            var state: Int32 = 0
            var i = 0
            while i < n {
                state = table[Int(state) &<< 8 | Int(base[i])]
                i += 1
                if state >= first {
                    for pattern in outputs[Int(state - first)] { body(Int(pattern), i) }
                }
            }
        }
    }
}
