/// npm's config file dialect (`~/.npmrc`), read as npm reads it (npm/ini, then @npmcli/config's `${VAR}`
/// replacement), for the top-level entries (those before any `[section]`, which npm nests and does not use as
/// settings):
/// - Lines end at LF (a CR before it is dropped); blank lines and lines whose first non-blank character is `;` or
///   `#` are comments; `name = value` (the first `=` divides; a name alone is `true`).
/// - A value in double quotes is a JSON string; in single quotes, the text between them; otherwise the text up to
///   the first `;` or `#` not escaped by `\` (`\;`, `\#`, `\\` are those characters), without surrounding blanks.
///   `true`, `false` and `null` are not strings.
/// - `${NAME}` in a name, and in a value Keyway reads, is the environment variable NAME; `${NAME?}` is it or
///   nothing. npm leaves `${NAME}` as written when NAME is not set, which would hand the tool the text
///   `${NAME}` as its token: Keyway refuses that instead, naming the variable and the line.
/// Refused, naming the line: a double-quoted value that is not a JSON string, a single-quoted value that npm would
/// read as a number or a boolean, a `${` without its `}`, a `\` before `${` (npm's escape, not read here), a line
/// that is none of the above. Errors never quote the file's text.
package enum NPMRC {
    package struct Entry: Sendable {
        package var name: String
        package var value: JSON
        package var line: Int
    }

    /// The top-level entries in order, names already expanded, values not (`expand`).
    package static func parse(_ text: String, environment: Environment) throws(LineSyntaxError) -> [Entry] {
        var entries: [Entry] = []
        var inSection = false
        for (number, raw) in try numberedLines(text) {
            let line = raw.trimmedBlanks
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("["), line.hasSuffix("]"), !line.dropFirst().dropLast().contains("]") {
                inSection = true
                continue
            }
            guard let divider = raw.firstIndex(of: "="), divider != raw.startIndex else {
                if raw.first == "=" {
                    throw LineSyntaxError(line: number, "a line that starts with '=' (npm ignores it)")
                }
                if inSection { continue }
                entries.append(
                    Entry(
                        name: try expand(try unquote(raw, line: number), environment, line: number), value: .bool(true),
                        line: number))
                continue
            }
            if inSection { continue }
            let name = try expand(try unquote(raw[..<divider], line: number), environment, line: number)
            let text = try unquote(raw[raw.index(after: divider)...], line: number)
            let value: JSON =
                text == "true" ? .bool(true) : text == "false" ? .bool(false) : text == "null" ? .null : .string(text)
            entries.append(Entry(name: name, value: value, line: number))
        }
        return entries
    }

    /// npm/ini's `unsafe`: a quoted text unquoted, an unquoted one cut at an unescaped `;` or `#`.
    static func unquote(_ raw: Substring, line: Int) throws(LineSyntaxError) -> String {
        let text = raw.trimmedBlanks
        let scalars = text.unicodeScalars
        if scalars.count >= 2, let first = scalars.first, first == "\"" || first == "'", scalars.last == first {
            let inner = String(String.UnicodeScalarView(scalars.dropFirst().dropLast()))
            if first == "\"" {
                guard case .string(let s)? = try? JSON.parse(String(text)) else {
                    throw LineSyntaxError(
                        line: line, "a double-quoted value that is not a JSON string (npm would keep the quotes)")
                }
                return s
            }
            // npm removes single quotes, then reads the rest as JSON when it can.
            switch try? JSON.parse(inner) {
            case nil: return inner
            case .string(let s)?: return s
            default:
                throw LineSyntaxError(line: line, "a single-quoted value that npm reads as a number, boolean or null")
            }
        }
        var result = String.UnicodeScalarView()
        var escaped = false
        for c in scalars {
            if escaped {
                if c != "\\" && c != ";" && c != "#" { result.append("\\") }
                result.append(c)
                escaped = false
            } else if c == ";" || c == "#" {
                break
            } else if c == "\\" {
                escaped = true
            } else {
                result.append(c)
            }
        }
        if escaped { result.append("\\") }
        return String(Substring(String(result)).trimmedBlanks)
    }

    /// `${NAME}` and `${NAME?}` replaced with the environment's values (@npmcli/config's `env-replace`); an unset
    /// NAME without `?` is an error here (npm would leave the text as written).
    package static func expand(_ text: String, _ environment: Environment, line: Int) throws(LineSyntaxError) -> String
    {
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "$", i + 1 < scalars.count, scalars[i + 1] == "{" else {
                result.append(scalars[i])
                i += 1
                continue
            }
            if i > 0 && scalars[i - 1] == "\\" {
                throw LineSyntaxError(line: line, "a '\\' before '${' (npm's escape, which Keyway does not read)")
            }
            guard let close = scalars[(i + 2)...].firstIndex(of: "}") else {
                throw LineSyntaxError(line: line, "a '${' without its closing '}'")
            }
            var name = String(String.UnicodeScalarView(scalars[(i + 2)..<close]))
            let optional = name.hasSuffix("?")
            if optional { name.removeLast() }
            if name.isEmpty || name.contains("$") || name.contains("{") || name.contains("?") {
                throw LineSyntaxError(line: line, "a '${...}' that does not name a variable")
            }
            if let value = environment[name] {
                result.append(contentsOf: value.unicodeScalars)
            } else if !optional {
                let shown =
                    isShownVariable(name) ? "$\(name)" : "a variable whose name is not shown (it could be a key)"
                throw LineSyntaxError(
                    line: line,
                    "\(shown) is not set (npm would pass the text ${...} on as written); set it, or write ${NAME?} "
                        + "for nothing when it is not set")
            }
            i = close + 1
        }
        return String(result)
    }

    /// Whether a variable name from the file may be shown: a portable name of at most 40 characters, upper-case
    /// letters, digits and `_`, no part between `_` mixing letters and digits over 8 characters (`NPM_TOKEN` is
    /// shown; a lower-case or mixed-case token, or `AKIAIOSFODNN7EXAMPLE`, is not).
    static func isShownVariable(_ name: String) -> Bool {
        guard name.utf8.count <= 40, AppSpecDecoder.isVariableName(name), !name.contains(where: \.isLowercase) else {
            return false
        }
        return name.split(separator: "_").allSatisfy { part in
            part.count <= 8 || !(part.contains(where: \.isNumber) && part.contains(where: \.isLetter))
        }
    }

    /// npm's "nerf dart" of a registry URL, the prefix of its credential settings: `https://registry.npmjs.org/`
    /// is `//registry.npmjs.org/`; the path is cut after its last `/`; a default port is dropped. Nil for what is not
    /// an http(s) URL Keyway can read (a user, a query or a fragment in it).
    package static func nerfDart(_ url: String) -> String? {
        var rest: Substring
        let lower = url.lowercased()
        let port: String
        if lower.hasPrefix("https://") {
            rest = url.dropFirst(8)
            port = ":443"
        } else if lower.hasPrefix("http://") {
            rest = url.dropFirst(7)
            port = ":80"
        } else {
            return nil
        }
        if rest.contains(where: { $0 == "?" || $0 == "#" || $0 == "@" || $0 == "\\" || $0 == " " }) { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var host = rest[..<slash].lowercased()
        if host.isEmpty { return nil }
        if host.hasSuffix(port) { host.removeLast(port.count) }
        var path = String(rest[slash...])
        if let last = path.lastIndex(of: "/") { path = String(path[...last]) } else { path = "/" }
        return "//" + host + path
    }
}
