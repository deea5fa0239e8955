import Glibc

/// The `data:` values of Kubernetes `Secret` manifests (YAML): each is base64 of the secret's bytes, which the
/// content rules are run on decoded. Only documents (`---`-separated) with a top-level `kind: Secret` are read, and
/// only their top-level `data:` map: `key: value` entries, the value plain or quoted on the line, or a block scalar
/// (`|`, `>`) of base64 lines. (`stringData:` holds the values as they are: the file's own scan reads them.)
///
/// Bounded: a value longer than `maximumValueLength` encoded characters, or a key longer than Kubernetes allows, is
/// not decoded; at most `maximumValues` values and `maximumDecodedBytes` decoded bytes per file; decoded bytes are
/// scanned once, never decoded again (no nesting).
enum KubernetesSecrets {
    struct Value {
        /// The key under `data:` (a file name in the Secret's volume, `tls.key`).
        let key: String
        /// 1-based lines of the manifest the value takes (its key's line first).
        let lines: ClosedRange<Int>
        /// Where the key's line starts in the manifest.
        let lineStart: Int
        let decoded: [UInt8]
    }

    static let maximumValueLength = 1 << 20
    static let maximumValues = 4096
    static let maximumDecodedBytes = 16 << 20
    /// Kubernetes' limit on a Secret's key (a DNS subdomain-like name).
    static let maximumKeyLength = 253

    /// The decoded `data:` values of every Secret in the buffer. A buffer without the words `Secret` and `kind:`
    /// costs a `memchr` pass or two.
    static func values(_ base: UnsafePointer<UInt8>, _ n: Int) -> [Value] {
        guard contains(base, n, Array("Secret".utf8)), contains(base, n, Array("kind:".utf8)) else { return [] }
        var lines: [(start: Int, end: Int)] = []
        var start = 0
        while start < n {
            let rest = n - start
            let newline =
                memchr(base + start, 10, rest).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base }
                ?? n
            var end = newline
            if end > start, base[end - 1] == 13 { end -= 1 }
            lines.append((start, end))
            start = newline + 1
        }
        func text(_ line: Int) -> ArraySlice<UInt8> {
            Array(UnsafeBufferPointer(start: base + lines[line].start, count: lines[line].end - lines[line].start))[...]
        }
        var result: [Value] = []
        var decodedTotal = 0
        var document: (isSecret: Bool, values: [Value]) = (false, [])
        func endDocument() {
            if document.isSecret {
                for value in document.values {
                    guard result.count < maximumValues, decodedTotal + value.decoded.count <= maximumDecodedBytes
                    else { break }
                    decodedTotal += value.decoded.count
                    result.append(value)
                }
            }
            document = (false, [])
        }
        var i = 0
        while i < lines.count {
            let line = text(i)
            if line.starts(with: Array("---".utf8)), line.dropFirst(3).allSatisfy({ $0 == 32 || $0 == 9 }) {
                endDocument()
                i += 1
                continue
            }
            if let value = topLevelValue(line, key: "kind"), unquoted(value) == Array("Secret".utf8)[...] {
                document.isSecret = true
            }
            guard let value = topLevelValue(line, key: "data"), value.isEmpty else {
                i += 1
                continue
            }
            // The map under `data:`: its entries share the first entry's indentation.
            i += 1
            var indent = -1
            while i < lines.count {
                let entry = text(i)
                let spaces = entry.prefix { $0 == 32 }.count
                let content = entry.dropFirst(spaces)
                if content.isEmpty || content.first == 35 {
                    i += 1
                    continue
                }
                guard spaces > 0, indent < 0 || spaces == indent else { break }
                indent = spaces
                let keyLine = i
                i += 1
                guard let colon = content.firstIndex(of: 58) else { continue }
                let key = unquoted(content[..<colon])
                var scalar = trimmed(content[(colon + 1)...])
                var encoded: [UInt8] = []
                if scalar.first == 124 || scalar.first == 62 {
                    // A block scalar: the lines indented deeper than the key.
                    while i < lines.count {
                        let next = text(i)
                        let depth = next.prefix { $0 == 32 }.count
                        let body = trimmed(next)
                        if body.isEmpty {
                            i += 1
                            continue
                        }
                        guard depth > indent else { break }
                        if encoded.count <= maximumValueLength { encoded += body }
                        i += 1
                    }
                } else {
                    if let hash = scalar.firstIndex(of: 35), hash > scalar.startIndex, scalar[hash - 1] == 32 {
                        scalar = trimmed(scalar[..<hash])
                    }
                    encoded = Array(unquoted(scalar))
                }
                guard !key.isEmpty, key.count <= maximumKeyLength, !encoded.isEmpty,
                    encoded.count <= maximumValueLength, let decoded = Base64.decode(encoded), !decoded.isEmpty
                else { continue }
                document.values.append(
                    Value(
                        key: FileNames.text(key), lines: (keyLine + 1)...i, lineStart: lines[keyLine].start,
                        decoded: decoded))
            }
        }
        endDocument()
        return result
    }

    /// Whether `needle` occurs in the buffer (`memchr` for its first byte, then a comparison).
    static func contains(_ base: UnsafePointer<UInt8>, _ n: Int, _ needle: [UInt8]) -> Bool {
        var i = 0
        while i + needle.count <= n {
            guard let hit = memchr(base + i, Int32(needle[0]), n - i - needle.count + 1) else { return false }
            let at = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
            if memcmp(base + at, needle, needle.count) == 0 { return true }
            i = at + 1
        }
        return false
    }

    /// The value of a top-level (unindented) `key:` line, trimmed, comment removed; nil for any other line.
    static func topLevelValue(_ line: ArraySlice<UInt8>, key: String) -> ArraySlice<UInt8>? {
        let name = Array(key.utf8)
        guard line.starts(with: name) else { return nil }
        var rest = line.dropFirst(name.count)
        while rest.first == 32 || rest.first == 9 { rest = rest.dropFirst() }
        guard rest.first == 58 else { return nil }
        rest = trimmed(rest.dropFirst())
        if rest.first == 35 { return rest[rest.startIndex..<rest.startIndex] }
        if let hash = rest.firstIndex(of: 35), hash > rest.startIndex, rest[hash - 1] == 32 {
            rest = trimmed(rest[..<hash])
        }
        return rest
    }

    static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var t = s
        while let f = t.first, f == 32 || f == 9 { t = t.dropFirst() }
        while let l = t.last, l == 32 || l == 9 { t = t.dropLast() }
        return t
    }

    /// Without one pair of surrounding quotes (`"..."`, `'...'`).
    static func unquoted(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let t = trimmed(s)
        if t.count >= 2, let f = t.first, f == 34 || f == 39, t.last == f { return t.dropFirst().dropLast() }
        return t
    }
}
