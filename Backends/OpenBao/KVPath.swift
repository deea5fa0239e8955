import KeywayCore

/// How app and profile names become KV path segments, and back.
///
/// A name is one segment: every byte except ASCII letters, digits, `-`, `_` and `.` is written `%XX` (upper-case
/// hex), `%` itself included, and a name made only of dots (`.`, `..`) has its dots written `%2E` too; so a segment
/// never holds `/`, is never `.` or `..`, and decoding gives back exactly the name. In the URL each `%` is sent as
/// `%25` (the server decodes the URL once and stores the segment as written). `..`, `/`, `%2e` in a name therefore
/// stay inside `<prefix>/<app>/`.
enum KVPath {
    static func isUnreserved(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x5F || byte == 0x2E
    }

    /// The segment for `name`.
    static func encode(_ name: String) -> String {
        let bytes = Array(name.utf8)
        let onlyDots = bytes.allSatisfy { $0 == 0x2E }
        var out = ""
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            if isUnreserved(byte) && !(onlyDots && byte == 0x2E) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + hex(byte)
            }
        }
        return out
    }

    /// The name a segment stands for; nil when it is not one `encode` writes (an entry another tool made with a
    /// name Keyway would have encoded, which Keyway therefore cannot address).
    static func decode(_ segment: String) -> String? {
        let bytes = Array(segment.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x25 {
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
                    let low = hexValue(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else if isUnreserved(byte) {
                out.append(byte)
                index += 1
            } else {
                return nil
            }
        }
        guard let name = String(validating: out, as: UTF8.self), encode(name) == segment else { return nil }
        return name
    }

    /// `a/b/c` made only of segments `encode` would keep as they are (letters, digits, `-`, `_`, `.`), none empty,
    /// `.` or `..`: what a mount or prefix setting may be.
    static func isPlainPath(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return !path.isEmpty
            && segments.allSatisfy { segment in
                !segment.isEmpty && segment != "." && segment != ".." && segment.utf8.allSatisfy(isUnreserved)
            }
    }

    /// A segment as it goes into a URL: its `%` sent as `%25`.
    static func inURL(_ segment: String) -> String {
        segment.replacingPercent()
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        default: return nil
        }
    }
}

extension String {
    fileprivate func replacingPercent() -> String {
        var out = ""
        for scalar in unicodeScalars {
            if scalar == "%" { out += "%25" } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
