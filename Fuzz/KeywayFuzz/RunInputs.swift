import KeywayCore

/// `keyway run --env-file`'s dotenv reader (`DotEnv.parse`) and the `keyway://` reference parser it hands values
/// to: no crash on any input; every name read is a valid variable name; a reference read survives being written
/// back and a second parse.
enum DotEnvFuzz {
    static let target = FuzzTarget(
        name: "dotenv", about: "keyway run --env-file: dotenv reader and keyway:// references", run: run)

    static func run(_ bytes: [UInt8]) {
        if let text = String(validating: bytes, as: UTF8.self) { check(reference: text) }
        guard let entries = try? DotEnv.parse(bytes) else { return }
        for entry in entries {
            guard let first = entry.name.utf8.first, first == UInt8(ascii: "_") || isLetter(first),
                entry.name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || isLetter($0) || isDigit($0) })
            else { fatalError("the dotenv reader returned an invalid variable name") }
            guard entry.line >= 1 else { fatalError("an entry without a line number") }
            check(reference: entry.value)
        }
    }

    /// A reference read is written back as a reference (not its `description`, which hides names that may be keys)
    /// and read again the same.
    static func check(reference text: String) {
        guard let reference = try? KeywayReference.parse(text) else { return }
        var written = KeywayReference.scheme + reference.app
        if let profile = reference.profile { written += "/" + profile }
        if reference.field != .key { written += "#" + reference.field.rawValue }
        guard let again = try? KeywayReference.parse(written), again == reference else {
            fatalError("a reference does not survive being written back and a second parse")
        }
    }

    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }
    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}

/// `keyway run --mask`'s streaming masker (`OutputMasker`): the input's first bytes make one or two keys (letters
/// and digits, 8 to 40 of them, for the apps `a` and `b`), the next ones where the rest is cut into chunks. Fed
/// chunk by chunk it writes exactly what it writes fed the whole at once (a key split across reads is masked the
/// same), that is what the plain reference rule (`reference`) writes, and no key is left whole in what it writes.
enum MaskerFuzz {
    static let target = FuzzTarget(
        name: "masker", about: "keyway run --mask: streaming output masker", run: run)

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    static func run(_ bytes: [UInt8]) {
        var input = bytes[...]
        // The first byte's low bits narrow the keys' alphabet (to 2, 3 or 4 letters), so that keys overlapping each
        // other and themselves (A's end is B's start) are common.
        guard let letters = input.popFirst() else { return }
        let size = [alphabet.count, 2, 3, 4][Int(letters & 3)]
        func key() -> [UInt8]? {
            guard let length = input.popFirst() else { return nil }
            let count = 8 + Int(length % 33)
            guard input.count >= count else { return nil }
            defer { input = input.dropFirst(count) }
            return input.prefix(count).map { alphabet[Int($0) % size] }
        }
        guard let first = key(), let flags = input.popFirst() else { return }
        var secrets = [(name: "a", key: first)]
        if flags & 1 == 1, let second = key() { secrets.append((name: "b", key: second)) }
        guard let seed = input.popFirst() else { return }
        let text = Array(input)

        var whole = OutputMasker(secrets)
        var expected: [UInt8] = []
        whole.feed(text, into: &expected)
        whole.finish(into: &expected)

        var streamed = OutputMasker(secrets)
        var output: [UInt8] = []
        var rest = text[...]
        var step = Int(seed)
        while !rest.isEmpty {
            let size = 1 + step % 17
            step = (step &* 31 &+ 7) & 0xFFFF
            streamed.feed(Array(rest.prefix(size)), into: &output)
            rest = rest.dropFirst(size)
        }
        streamed.finish(into: &output)
        guard output == expected else { fatalError("streamed in chunks, the masker wrote something else") }
        guard expected == reference(text, secrets) else {
            fatalError("the masker wrote something other than the plain left-to-right reference")
        }
        for secret in secrets where contains(output, secret.key) {
            fatalError("a key is left whole in the masked output")
        }
    }

    /// The masking rule written plainly, over the whole text at once and trying every position: at each position the
    /// longest form matching there is replaced; the masked stretch runs on to the furthest end of a form that begins
    /// inside it, unless a form matching where it ends reaches that far (it is the next match).
    static func reference(_ text: [UInt8], _ secrets: [(name: String, key: [UInt8])]) -> [UInt8] {
        var patterns: [(bytes: [UInt8], replacement: [UInt8])] = []
        var seen = Set<[UInt8]>()
        for (name, key) in secrets where !key.isEmpty {
            for (index, form) in OutputMasker.forms(of: key).enumerated()
            where index == 0 || form.count >= OutputMasker.shortestDerivedForm {
                if seen.insert(form).inserted { patterns.append((form, Array("<keyway:\(name)>".utf8))) }
            }
        }
        patterns.sort { $0.bytes.count > $1.bytes.count }
        func longest(at i: Int, beyond limit: Int = 0) -> Int? {
            patterns.indices.first {
                i + patterns[$0].bytes.count > limit && i + patterns[$0].bytes.count <= text.count
                    && text[i..<(i + patterns[$0].bytes.count)].elementsEqual(patterns[$0].bytes)
            }
        }
        var output: [UInt8] = []
        var i = 0
        while i < text.count {
            guard let first = longest(at: i) else {
                output.append(text[i])
                i += 1
                continue
            }
            output += patterns[first].replacement
            var end = i + patterns[first].bytes.count
            var from = i + 1
            while true {
                var reach = end
                var furthest: (index: Int, start: Int)?
                for p in from..<end {
                    if let index = longest(at: p, beyond: reach) {
                        reach = p + patterns[index].bytes.count
                        furthest = (index, p)
                    }
                }
                guard let furthest else { break }
                if let next = longest(at: end), end + patterns[next].bytes.count >= reach { break }
                output += patterns[furthest.index].replacement
                from = furthest.start + 1
                end = reach
            }
            i = end
        }
        return output
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains {
            haystack[$0..<($0 + needle.count)].elementsEqual(needle)
        }
    }
}
