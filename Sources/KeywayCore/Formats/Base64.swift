/// Standard base64 (RFC 4648, with `=` padding), for the encoded secrets of credential-helper entries and the `auth`
/// fields of `~/.docker/config.json`. (The vault's key uses libsodium's own codec in the encrypted backend.)
package enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    package static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes `text` encodes, or nil when it is not padded standard base64 (surrounding whitespace is allowed).
    package static func decode(_ text: String) -> [UInt8]? {
        var symbols = Array(text.utf8)
        while let last = symbols.last, last == 0x20 || last == 0x0A || last == 0x0D || last == 0x09 {
            symbols.removeLast()
        }
        while let first = symbols.first, first == 0x20 || first == 0x0A || first == 0x0D || first == 0x09 {
            symbols.removeFirst()
        }
        guard symbols.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count / 4 * 3)
        var index = 0
        while index < symbols.count {
            var values: [UInt8] = []
            var padding = 0
            for symbol in symbols[index..<index + 4] {
                if symbol == UInt8(ascii: "=") {
                    padding += 1
                    values.append(0)
                    continue
                }
                guard padding == 0, let value = value(symbol) else { return nil }
                values.append(value)
            }
            if padding > 2 || (padding > 0 && index + 4 != symbols.count) { return nil }
            out.append(values[0] << 2 | values[1] >> 4)
            if padding < 2 { out.append((values[1] & 0x0F) << 4 | values[2] >> 2) }
            if padding < 1 { out.append((values[2] & 0x03) << 6 | values[3]) }
            index += 4
        }
        return out
    }

    static func value(_ symbol: UInt8) -> UInt8? {
        switch symbol {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return symbol - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return symbol - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return symbol - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
