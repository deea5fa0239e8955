/// Text from untrusted input (file names, git's messages, file contents) made safe to print for people.
package enum TerminalText {
    /// `text` with every C0 control (U+0000-U+001F, newline and tab included), DEL (U+007F) and C1 control
    /// (U+0080-U+009F) replaced by a visible escape: `\x1b`, `\x7f`, `\u{9b}`. A name holding `ESC ] 0 ; ... BEL`
    /// or a CSI sequence then cannot retitle the terminal, move the cursor or hide the lines after it, and a newline
    /// in a name cannot forge a line of the report. With `keepingNewlines`, LF stays (for multi-line values such as
    /// a private key block shown with --show-secrets); CR is still escaped.
    public static func escaped(_ text: String, keepingNewlines: Bool = false) -> String {
        guard hasControl(text, keepingNewlines: keepingNewlines) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if keepingNewlines, scalar == "\n" {
                out.unicodeScalars.append(scalar)
            } else if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" : "") + hex
            } else if scalar.value >= 0x80 && scalar.value <= 0x9F {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether `escaped` changes anything in `text`, found from its UTF-8 bytes in one pass: C0 and DEL are single
    /// bytes, C1 is `C2 80`-`C2 9F`. A whole report written with its line breaks kept (`keepingNewlines`) is then
    /// passed on as it is, not rebuilt scalar by scalar.
    static func hasControl(_ text: String, keepingNewlines: Bool) -> Bool {
        anyUTF8Byte(of: text) { bytes, i in
            let b = bytes[i]
            return (b < 0x20 && !(keepingNewlines && b == 0x0A)) || b == 0x7F || isC1(bytes, i)
        }
    }

    /// Whether `test(bytes, i)` holds at some index of `text`'s UTF-8 bytes: the one-pass checks that let clean
    /// text through whole (here and in `JSON.writeString`).
    @inline(__always)
    static func anyUTF8Byte(of text: String, where test: (UnsafeBufferPointer<UInt8>, Int) -> Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for i in bytes.indices where test(bytes, i) { return true }
            return false
        }
    }

    /// Whether a C1 control (U+0080-U+009F, UTF-8 `C2 80`-`C2 9F`) starts at byte `i`.
    @inline(__always) static func isC1(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        bytes[i] == 0xC2 && i + 1 < bytes.count && bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x9F
    }

    @inline(__always) static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F)
    }
}
