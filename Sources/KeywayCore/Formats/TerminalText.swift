/// Text from untrusted input (file names, git's messages, file contents) made safe to print for people.
package enum TerminalText {
    /// `text` with every C0 control (U+0000-U+001F, newline and tab included), DEL (U+007F) and C1 control
    /// (U+0080-U+009F) replaced by a visible escape: `\x1b`, `\x7f`, `\u{9b}`. A name holding `ESC ] 0 ; ... BEL`
    /// or a CSI sequence then cannot retitle the terminal, move the cursor or hide the lines after it, and a newline
    /// in a name cannot forge a line of the report. With `keepingNewlines`, LF stays (for multi-line values such as
    /// a private key block shown with --show-secrets); CR is still escaped.
    public static func escaped(_ text: String, keepingNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) }) else { return text }
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

    @inline(__always) static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F)
    }
}
