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
/// Matching is a set-Horspool search on the shortest form's length: it skips over text that cannot hold a form,
/// so a long output is scanned at close to memory speed.
package struct OutputMasker: Sendable {
    struct Pattern: Sendable {
        let bytes: [UInt8]
        let replacement: [UInt8]
    }

    let patterns: [Pattern]  // longest first
    let shortest: Int
    let longest: Int
    /// Horspool's shift by the byte at the end of the window.
    let shift: [Int]
    /// By byte value: the patterns (indices, longest first) whose `shortest`-th byte it is.
    let candidates: [[Int]]
    private var held: [UInt8] = []

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
        var shift = [Int](repeating: max(shortest, 1), count: 256)
        var candidates = [[Int]](repeating: [], count: 256)
        for (index, pattern) in found.enumerated() {
            for j in 0..<(shortest - 1) {
                shift[Int(pattern.bytes[j])] = min(shift[Int(pattern.bytes[j])], shortest - 1 - j)
            }
            candidates[Int(pattern.bytes[shortest - 1])].append(index)
        }
        self.shift = shift
        self.candidates = candidates
    }

    /// Whether there is anything to mask.
    public var isEmpty: Bool { patterns.isEmpty }

    /// K first, then its encoded forms (see the type's documentation).
    static func forms(of key: [UInt8]) -> [[UInt8]] {
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
        if patterns.isEmpty {
            output += chunk
            return
        }
        if held.isEmpty {
            held = scan(chunk, into: &output, final: false)
        } else {
            held = scan(held + chunk, into: &output, final: false)
        }
    }

    /// The end of the stream: what was held back is masked with no more to come (a longer form it began can no
    /// longer complete, but a shorter one may lie whole inside it: another key that is the start of this one).
    public mutating func finish(into output: inout [UInt8]) {
        if !held.isEmpty { _ = scan(held, into: &output, final: true) }
        held = []
    }

    /// Appends `buffer` masked to `output`, except its longest end that begins some pattern (returned; empty when
    /// `final`).
    func scan(_ buffer: [UInt8], into output: inout [UInt8], final: Bool) -> [UInt8] {
        let count = buffer.count
        var start = 0
        // Where a longer pattern than one that matched might still match, once more of the stream is known.
        var undecided: Int?
        buffer.withUnsafeBufferPointer { text in
            var i = 0
            let last = shortest - 1
            scanning: while i + shortest <= count {
                let c = Int(text[i + last])
                let list = candidates[c]
                if !list.isEmpty {
                    var matched: Pattern?
                    for index in list {
                        let p = patterns[index].bytes
                        let available = min(p.count, count - i)
                        let agreeing = p.withUnsafeBufferPointer { pb in
                            var k = 0
                            while k < available, pb[k] == text[i + k] { k += 1 }
                            return k
                        }
                        if agreeing == p.count {
                            matched = patterns[index]
                            break
                        }
                        if agreeing == available, !final {
                            // The buffer ends inside this (longer) pattern: decided by the next chunk.
                            undecided = i
                            break scanning
                        }
                    }
                    if let matched {
                        output.append(contentsOf: text[start..<i])
                        output += matched.replacement
                        i += matched.bytes.count
                        start = i
                        continue
                    }
                }
                i += shift[c]
            }
        }
        // The earliest position from which the rest of the buffer begins some pattern (it did not fit whole).
        var hold = undecided ?? count
        if !final, undecided == nil {
            var position = max(start, count - longest + 1)
            search: while position < count {
                let rest = buffer[position...]
                for pattern in patterns where pattern.bytes.count > rest.count {
                    if pattern.bytes.starts(with: rest) {
                        hold = position
                        break search
                    }
                }
                position += 1
            }
        }
        output.append(contentsOf: buffer[start..<hold])
        return Array(buffer[hold...])
    }
}
