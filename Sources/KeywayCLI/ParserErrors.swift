import Keyway

/// ArgumentParser's error messages quote what was typed ("Unexpected argument 'rfx_...'", "The option '--strict'
/// does not take any value, but '...' was specified"), and what was typed may be a key (`keyway login reflex KEY`,
/// forgetting `--api-key`). Before such a message is printed, every value from the command line in it that could be
/// a key is replaced; extra positional arguments are never shown.
enum ParserErrors {
    static let notShown = "(not shown)"

    /// `message` with the command line's values that could be keys taken out.
    static func redacted(_ message: String, arguments: [String]) -> String {
        var values: [String] = []
        for argument in arguments {
            values.append(argument)
            if argument.hasPrefix("-"), let equals = argument.firstIndex(of: "=") {
                values.append(String(argument[argument.index(after: equals)...]))
            }
        }
        let secretLike = values.filter { !$0.isEmpty && !APIKeyRules.isQuotable($0) && !isOptionName($0) }
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (index, line) in lines.enumerated() {
            if let replacement = unexpectedArguments(line, arguments: arguments) {
                lines[index] = replacement
                continue
            }
            lines[index] = redactQuoted(line) { quoted in
                !APIKeyRules.isQuotable(quoted) && !isOptionName(quoted)
                    && values.contains { $0 == quoted || (quoted.utf8.count >= 4 && $0.contains(quoted)) }
            }
        }
        var result = lines.joined(separator: "\n")
        // Anything left unquoted (or quoted with a quote inside): every long enough value, wherever it appears.
        for value in secretLike where value.utf8.count >= 6 { result = result.replacing(value, with: notShown) }
        return result
    }

    /// The replacement of ArgumentParser's "Unexpected argument 'X'" / "N unexpected arguments: 'X', 'Y'" line, or
    /// nil for any other line. A mistyped subcommand (the first argument, with the rest) is shown when none of the
    /// values could be a key.
    static func unexpectedArguments(_ line: String, arguments: [String]) -> String? {
        guard line.hasPrefix("Error: "), line.hasSuffix("'") else { return nil }
        let text = line.dropFirst("Error: ".count).dropLast()
        let what: String
        let list: Substring
        if text.hasPrefix("Unexpected argument '") {
            what = "Unexpected argument"
            list = text.dropFirst("Unexpected argument '".count)
        } else if let marker = text.firstRange(of: " unexpected arguments: '"), Int(text[..<marker.lowerBound]) != nil {
            what = "\(text[..<marker.lowerBound]) unexpected arguments"
            list = text[marker.upperBound...]
        } else {
            return nil
        }
        let values = list.split(separator: "', '", omittingEmptySubsequences: false).map(String.init)
        if values.first == arguments.first, values.allSatisfy(APIKeyRules.isQuotable) { return line }
        return "Error: \(what) \(notShown): \(values.count == 1 ? "it" : "one") may be a key. Give a key with "
            + "--api-key, or to `keyway login` on standard input or at its prompt."
    }

    /// `line` with each `'...'` span for which `hide` is true replaced by `'(not shown)'`.
    static func redactQuoted(_ line: String, hide: (String) -> Bool) -> String {
        var result = ""
        var rest = Substring(line)
        while let open = rest.firstIndex(of: "'") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "'") else { break }
            let content = String(rest[afterOpen..<close])
            result += rest[..<afterOpen]
            result += hide(content) ? notShown : content
            result += "'"
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// `--long-name` or `-x`: how ArgumentParser names options (an unknown one is shown so a typo can be seen).
    static func isOptionName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func isLetter(_ b: UInt8) -> Bool { (0x61...0x7A).contains(b) || (0x41...0x5A).contains(b) }
        if bytes.count == 2 { return bytes[0] == UInt8(ascii: "-") && isLetter(bytes[1]) }
        guard bytes.count > 2, bytes.count <= 32, bytes[0] == UInt8(ascii: "-"), bytes[1] == UInt8(ascii: "-") else {
            return false
        }
        return bytes.dropFirst(2).allSatisfy { (0x61...0x7A).contains($0) || $0 == UInt8(ascii: "-") }
    }
}
