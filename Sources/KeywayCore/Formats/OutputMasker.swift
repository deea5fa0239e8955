/// Replaces keys in a stream of output (`keyway run --mask`): every key, and each of its encoded forms, becomes
/// `<keyway:APP>`. Fed chunk by chunk, it finds a key split across chunks too: it holds back only the longest end of
/// what it was given that is the beginning of some form (a partial match), until the next chunk (or `finish`) says
/// whether it is one.
///
/// The forms of a key K: K itself; standard base64 and base64url of K, without padding, and the middle of both
/// alphabets' encodings of any text in which K starts at the 2nd or 3rd byte of a 3-byte group (what `base64(user:K)`
/// holds: every character that depends on K's bytes only); percent-encoding of K (every byte outside `A-Z a-z 0-9 - .
/// _ ~`, with upper- and lower-case hex digits); hex of K in lower and upper case. A derived form shorter than 8
/// characters is left out (it would hide ordinary text). At one position the longest form wins; matching goes on
/// after the replacement.
///
/// A key whose match overlaps another's (A's end is the start of B, printed back to back) is masked whole too: the
/// masked stretch runs on to the end of every form that begins inside it (with that form's name after the first),
/// so no part of B is left in the clear; a form that begins where a match ends is the next match, as before.
///
/// Matching is a Wu–Manber search (a Horspool shift by the last two bytes of a window the shortest form's length):
/// it skips over text that cannot hold a form, so a long output is scanned at close to memory speed.
package struct OutputMasker: Sendable {
    struct Pattern: Sendable {
        let bytes: [UInt8]
        let replacement: [UInt8]
    }

    let patterns: [Pattern]  // longest first
    let shortest: Int
    let longest: Int
    /// How many bytes end the window the shift is looked up by: 2, or 1 when a key is a single byte.
    let gram: Int
    /// By the window's last `gram` bytes (the first one times 256 plus the second, or one byte): how far the next
    /// window that can hold a form is (0: one may end here).
    let shift: [UInt8]
    /// By the same index g: the patterns whose bytes `shortest - gram ..< shortest` it is are
    /// `candidates[candidateStart[g] ..< candidateStart[g + 1]]` (indices, longest first): flat tables, no hashing
    /// or reference counting in the search loop.
    let candidateStart: [Int32]
    let candidates: [Int32]
    /// By first byte: the patterns (indices, longest first) that start with it.
    let byFirstByte: [[Int]]
    private var held: [UInt8] = []

    /// What `scan` finds at one position: a pattern (its index), none, or not yet known (the buffer ends inside one).
    enum Found {
        case none
        case match(Int)
        case undecided
    }

    /// The shortest derived form masked (the key itself always is).
    public static let shortestDerivedForm = 8

    /// `secrets`: each key with the name shown in its place (`<keyway:NAME>`).
    public init(_ secrets: [(name: String, key: [UInt8])]) {
        var found: [Pattern] = []
        var seen = Set<[UInt8]>()
        for (name, key) in secrets where !key.isEmpty {
            let replacement = Array("<keyway:\(name)>".utf8)
            for (index, form) in Self.forms(of: key).enumerated()
            where index == 0 || form.count >= Self.shortestDerivedForm {
                if seen.insert(form).inserted { found.append(Pattern(bytes: form, replacement: replacement)) }
            }
        }
        found.sort { $0.bytes.count > $1.bytes.count }
        patterns = found
        shortest = found.map(\.bytes.count).min() ?? 0
        longest = found.first?.bytes.count ?? 0
        gram = shortest >= 2 ? 2 : 1
        let most = max(shortest - gram, 0)
        var shift = [UInt8](repeating: UInt8(min(most + 1, 255)), count: gram == 2 ? 1 << 16 : 256)
        var grams: [(gram: Int, index: Int)] = []
        var byFirstByte = [[Int]](repeating: [], count: 256)
        for (index, pattern) in found.enumerated() {
            let bytes = pattern.bytes
            byFirstByte[Int(bytes[0])].append(index)
            for j in 0...most {
                let g = gram == 2 ? Int(bytes[j]) << 8 | Int(bytes[j + 1]) : Int(bytes[j])
                shift[g] = min(shift[g], UInt8(min(most - j, 255)))
                if j == most { grams.append((g, index)) }
            }
        }
        var candidateStart = [Int32](repeating: 0, count: shift.count + 1)
        for (g, _) in grams { candidateStart[g + 1] += 1 }
        for g in 0..<shift.count { candidateStart[g + 1] += candidateStart[g] }
        var candidates = [Int32](repeating: 0, count: grams.count)
        var next = candidateStart
        for (g, index) in grams {  // in pattern order: longest first within each gram
            candidates[Int(next[g])] = Int32(index)
            next[g] += 1
        }
        self.shift = shift
        self.candidateStart = candidateStart
        self.candidates = candidates
        self.byFirstByte = byFirstByte
    }

    /// Whether there is anything to mask.
    public var isEmpty: Bool { patterns.isEmpty }

    /// K first, then its encoded forms (see the type's documentation).
    package static func forms(of key: [UInt8]) -> [[UInt8]] {
        var forms = [key]
        let standard = Array(Base64.encode(key).utf8.prefix { $0 != UInt8(ascii: "=") })
        forms.append(standard)
        // K after 1 or 2 bytes of its 3-byte group: from its next group boundary on, whole groups only.
        for skip in [2, 1] where key.count - skip >= 3 {
            let whole = (key.count - skip) / 3 * 3
            forms.append(Array(Base64.encode(Array(key[skip..<(skip + whole)])).utf8))
        }
        // K starting a group but followed by more text: its whole groups (the standalone form is longer).
        if key.count % 3 != 0, key.count >= 3 {
            forms.append(Array(Base64.encode(Array(key[0..<(key.count / 3 * 3)])).utf8))
        }
        for form in forms[1...] where form.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") }) {
            forms.append(
                form.map {
                    $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0
                })
        }
        let upper = Array("0123456789ABCDEF".utf8)
        let lower = Array("0123456789abcdef".utf8)
        for digits in [upper, lower] {
            var percent: [UInt8] = []
            for byte in key {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                    UInt8(ascii: "~"):
                    percent.append(byte)
                default:
                    percent += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
                }
            }
            forms.append(percent)
            forms.append(key.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
        }
        return forms
    }

    /// Masks `chunk`, appending what can be written now to `output`; a possible partial match at its end is held back.
    public mutating func feed(_ chunk: [UInt8], into output: inout [UInt8]) {
        chunk.withUnsafeBufferPointer { feed($0, into: &output) }
    }

    /// Masks `chunk` (read straight from a buffer, not copied first), as `feed(_:into:)` does.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        if patterns.isEmpty {
            output.append(contentsOf: chunk)
            return
        }
        if held.isEmpty {
            held = scan(chunk, into: &output, final: false)
        } else {
            let joined = held + chunk
            held = joined.withUnsafeBufferPointer { scan($0, into: &output, final: false) }
        }
    }

    /// The end of the stream: what was held back is masked with no more to come (a longer form it began can no
    /// longer complete, but a shorter one may lie whole inside it: another key that is the start of this one).
    public mutating func finish(into output: inout [UInt8]) {
        if !held.isEmpty { _ = held.withUnsafeBufferPointer { scan($0, into: &output, final: true) } }
        held = []
    }

    /// Appends `buffer` masked to `output`, except its longest end that begins some pattern (returned; empty when
    /// `final`).
    func scan(_ text: UnsafeBufferPointer<UInt8>, into output: inout [UInt8], final: Bool) -> [UInt8] {
        let count = text.count
        var start = 0
        // Where a longer pattern than one that matched might still match, once more of the stream is known.
        var undecided: Int?
        shift.withUnsafeBufferPointer { shifts in
            candidateStart.withUnsafeBufferPointer { starts in
                /// The first (so the longest) of `indices` whose pattern lies whole at `p` and ends past `limit`;
                /// `.undecided` when the buffer ends inside one that agrees so far and more of the stream is to come.
                func longest(at p: Int, among indices: some Sequence<Int>, endingPast limit: Int) -> Found {
                    for index in indices where p + patterns[index].bytes.count > limit {
                        let pattern = patterns[index].bytes
                        let available = min(pattern.count, count - p)
                        let agreeing = pattern.withUnsafeBufferPointer { pb in
                            var k = 0
                            while k < available, pb[k] == text[p + k] { k += 1 }
                            return k
                        }
                        if agreeing == pattern.count { return .match(index) }
                        if agreeing == available, !final { return .undecided }
                    }
                    return .none
                }
                var i = 0
                let last = shortest - gram
                scanning: while i + shortest <= count {
                    let g = gram == 2 ? Int(text[i + last]) << 8 | Int(text[i + last + 1]) : Int(text[i + last])
                    let s = Int(shifts[g])
                    if s > 0 {
                        i += s
                        continue
                    }
                    let candidatesHere = (Int(starts[g])..<Int(starts[g + 1])).lazy.map { Int(candidates[$0]) }
                    let matched: Pattern
                    switch longest(at: i, among: candidatesHere, endingPast: i) {
                    case .match(let index): matched = patterns[index]
                    case .undecided:
                        // The buffer ends inside this (longer) pattern: decided by the next chunk.
                        undecided = i
                        break scanning
                    case .none:
                        i += 1
                        continue
                    }
                    // Forms that begin inside the match and run on past its end (A's end is the start of B): unless
                    // a match right at the end covers them (the next step takes it), the masked stretch runs on to the
                    // furthest such end, with that form's name, and so on from there.
                    var replacement = matched.replacement
                    var end = i + matched.bytes.count
                    var from = i + 1
                    extending: while true {
                        var reach = end
                        var furthest = -1
                        var furthestStart = 0
                        for p in from..<end {
                            switch longest(at: p, among: byFirstByte[Int(text[p])], endingPast: reach) {
                            case .match(let index):
                                (reach, furthest, furthestStart) = (p + patterns[index].bytes.count, index, p)
                            case .undecided:
                                undecided = i
                                break scanning
                            case .none: break
                            }
                        }
                        guard furthest >= 0 else { break }
                        switch longest(at: end, among: byFirstByte[Int(text[end])], endingPast: end) {
                        case .match(let index) where end + patterns[index].bytes.count >= reach: break extending
                        case .undecided:
                            undecided = i
                            break scanning
                        default: break
                        }
                        replacement += patterns[furthest].replacement
                        from = furthestStart + 1
                        end = reach
                    }
                    output.append(contentsOf: text[start..<i])
                    output += replacement
                    i = end
                    start = i
                }
            }
        }
        // The earliest position from which the rest of the buffer begins some pattern (it did not fit whole).
        var hold = undecided ?? count
        if !final, undecided == nil {
            var position = max(start, count - longest + 1)
            search: while position < count {
                let rest = text[position...]
                for index in byFirstByte[Int(text[position])] where patterns[index].bytes.count > rest.count {
                    if patterns[index].bytes.starts(with: rest) {
                        hold = position
                        break search
                    }
                }
                position += 1
            }
        }
        output.append(contentsOf: text[start..<hold])
        return Array(text[hold...])
    }
}
