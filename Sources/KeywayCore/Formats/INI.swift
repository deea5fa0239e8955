/// The INI reader for tools' credentials files (`~/.pypirc`, read by twine with Python's configparser;
/// `~/.sentryclirc`, read by sentry-cli with the Rust `ini` crate). It reads the subset on which those readers agree
/// and refuses the rest, naming the line, never guessing:
/// - `[section]` lines, `name = value` and `name: value` entries (the first `=` or `:` divides), blank lines, and
///   comment lines whose first non-blank character is `#` or `;`; LF or CRLF line ends.
/// - Names and values lose surrounding spaces and tabs; a value is the text as written, nothing unquoted.
/// Refused: an entry before the first section; an indented line (configparser continues the value above with it,
/// others read a new entry); a value that starts with a quote (configparser keeps quotes, the Rust crate removes
/// them) or holds `#`, `;` (an inline comment to some readers) or `\` (an escape to some); a section or a name
/// (ignoring case: configparser lower-cases names) written twice; a `[DEFAULT]` section (configparser copies its
/// entries into every section). Errors never quote the file's text.
///
/// The document is returned as `JSON`: an object of sections, each an object of string values.
package enum INI {
    package static func parse(_ text: String) throws(LineSyntaxError) -> JSON {
        var sections: [(String, [(String, JSON)])] = []
        var sectionLines: [String: Int] = [:]
        var names: [String: Int] = [:]
        for (number, raw) in try numberedLines(text) {
            let line = raw.trimmedBlanks
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if raw.unicodeScalars.first == " " || raw.unicodeScalars.first == "\t" {
                throw LineSyntaxError(
                    line: number,
                    "an indented line (Python's configparser continues the value above with it, other INI readers "
                        + "read a new entry); Keyway does not guess. Remove the indentation")
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count >= 2 else {
                    throw LineSyntaxError(line: number, "a section header that does not end with ']'")
                }
                let name = line.dropFirst().dropLast().trimmedBlanks
                if name.isEmpty || name.contains("[") || name.contains("]") {
                    throw LineSyntaxError(line: number, "a section header without a plain name")
                }
                if name == "DEFAULT" {
                    throw LineSyntaxError(
                        line: number,
                        "a [DEFAULT] section (Python's configparser copies its entries into every section, other "
                            + "INI readers do not); Keyway does not read it")
                }
                if let first = sectionLines[String(name)] {
                    throw LineSyntaxError(
                        line: number,
                        "the section \(shownFileName(name, what: "section")) is written a second time "
                            + "(first at line \(first)); which entries count is not certain")
                }
                sectionLines[String(name)] = number
                sections.append((String(name), []))
                names = [:]
                continue
            }
            guard let divider = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw LineSyntaxError(
                    line: number, "a line that is neither a [section], a name = value entry nor a comment")
            }
            let name = line[..<divider].trimmedBlanks
            let value = line[line.index(after: divider)...].trimmedBlanks
            if name.isEmpty { throw LineSyntaxError(line: number, "an entry without a name") }
            guard !sections.isEmpty else {
                throw LineSyntaxError(line: number, "an entry before the first [section]")
            }
            if let first = value.unicodeScalars.first, first == "\"" || first == "'" {
                throw LineSyntaxError(
                    line: number,
                    "a quoted value (Python's configparser keeps the quotes as part of it, other INI readers remove "
                        + "them); Keyway does not guess. Remove the quotes")
            }
            if value.contains(where: { $0 == "#" || $0 == ";" || $0 == "\\" }) {
                throw LineSyntaxError(
                    line: number,
                    "a value holding '#', ';' or '\\' (an inline comment or an escape to some INI readers, part of "
                        + "the value to others); Keyway does not guess")
            }
            let folded = name.lowercased()
            if let first = names[folded] {
                throw LineSyntaxError(
                    line: number,
                    "the name \(shownFileName(name)) is written a second time in its section (first at line "
                        + "\(first); configparser ignores case in names), so which value counts is not certain")
            }
            names[folded] = number
            sections[sections.count - 1].1.append((String(name), .string(String(value))))
        }
        return .object(sections.map { ($0.0, JSON.object($0.1)) })
    }
}
