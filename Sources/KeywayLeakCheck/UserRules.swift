import KeywayCore

/// A team's own token formats: `leak-rules/*.json` in the config directory, one rule per file. Validated as app specs
/// are: an error names the file and the field, and never quotes a value (it may hold a pasted key).
///
/// ```json
/// {"id": "acme-token", "name": "ACME deploy token", "prefixes": ["acme_"], "alphabet": "alphanumeric",
///  "min_length": 32, "max_length": 40, "entropy": 3.5, "allowlist": ["acme_test_"], "severity": "error",
///  "remediation": "Revoke it at https://acme.internal/tokens."}
/// ```
/// `prefixes` (a key that starts with one) or `keywords` (a value assigned to a name ending in one), not both.
public enum UserRules {
    static let alphabets: [(String, SecretRule.Alphabet)] = [
        ("alphanumeric", .alphanumeric), ("upper-alphanumeric", .upperAlphanumeric),
        ("lower-alphanumeric", .lowerAlphanumeric), ("url-safe", .urlSafe), ("url-safe-dot", .urlSafeDot),
        ("alphanumeric-dash", .alphanumericDash), ("alphanumeric-underscore", .alphanumericUnderscore),
        ("hex", .hex), ("hex-lower", .hexLower), ("digits", .digits), ("base64", .base64),
        ("printable", .password),
    ]

    static let fields: Set<String> = [
        "id", "name", "prefixes", "keywords", "alphabet", "min_length", "max_length", "entropy", "allowlist",
        "severity", "remediation", "regex",
    ]

    /// Every rule of `<configDirectory>/leak-rules`, in file-name order; none when the directory does not exist.
    public static func load(configDirectory: String, builtIn: [SecretRule] = SecretRule.builtIn)
        throws(KeywayError) -> [SecretRule]
    {
        var rules: [SecretRule] = []
        var origins: [String: String] = [:]
        for file in try AppCatalog.jsonFiles(in: configDirectory + "/leak-rules", what: "leak rule") {
            guard let bytes = try ProtectedFile(path: file).read() else { continue }
            let rule = try decode(bytes, source: file)
            if builtIn.contains(where: { $0.id == rule.id }) {
                throw KeywayError(
                    .malformedSpec, "Leak rule \(file): \"id\" is the id of a built-in rule; choose another.",
                    path: file)
            }
            if let other = origins[rule.id] {
                throw KeywayError(
                    .malformedSpec, "\(file) and \(other) both define the leak rule '\(rule.id)'.", path: file)
            }
            origins[rule.id] = file
            rules.append(rule)
        }
        return rules
    }

    public static func decode(_ bytes: [UInt8], source: String) throws(KeywayError) -> SecretRule {
        func bad(_ field: String, _ problem: String) -> KeywayError {
            KeywayError(.malformedSpec, "Leak rule \(source): \(field) \(problem).", path: source)
        }
        let root: JSON
        do throws(JSONSyntaxError) { root = try JSON.parse(bytes) } catch {
            throw KeywayError(.malformedSpec, "Leak rule \(source) is not valid JSON: \(error).", path: source)
        }
        guard case .object(let members) = root else { throw bad("the top level", "must be an object") }
        for (key, _) in members where !fields.contains(key) {
            let name = APIKeyRules.isQuotable(key) ? "\"\(key)\"" : "a field whose name is not shown"
            throw bad(name, "is not a known field (known: \(fields.sorted().joined(separator: ", ")))")
        }
        if root.firstRepeatedMember() != nil { throw bad("a field", "is written more than once") }
        func value(_ name: String) -> JSON? { members.first { $0.0 == name }?.1 }
        func string(_ name: String, required: Bool = false) throws(KeywayError) -> String? {
            guard let v = value(name), v != .null else {
                if required { throw bad("\"\(name)\"", "is missing") }
                return nil
            }
            guard let s = v.stringValue, !s.isEmpty else { throw bad("\"\(name)\"", "must be a non-empty string") }
            return s
        }
        func strings(_ name: String, minimum: Int) throws(KeywayError) -> [String] {
            guard let v = value(name), v != .null else { return [] }
            guard case .array(let items) = v else { throw bad("\"\(name)\"", "must be an array of strings") }
            var out: [String] = []
            for (i, item) in items.enumerated() {
                guard let s = item.stringValue, s.utf8.count >= minimum else {
                    throw bad("\"\(name)\"[\(i)]", "must be a string of at least \(minimum) characters")
                }
                guard s.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                    throw bad("\"\(name)\"[\(i)]", "must be printable ASCII without spaces")
                }
                out.append(s)
            }
            return out
        }
        func integer(_ name: String, default fallback: Int) throws(KeywayError) -> Int {
            guard let v = value(name), v != .null else { return fallback }
            guard let n = v.intValue, n >= 1, n <= 4096 else {
                throw bad("\"\(name)\"", "must be a whole number from 1 to 4096")
            }
            return n
        }
        if value("regex") != nil {
            throw bad(
                "\"regex\"",
                "is not supported (leak-check matches without regular expressions): describe the format with "
                    + "\"prefixes\" or \"keywords\", \"alphabet\", \"min_length\" and \"max_length\"")
        }
        let id = try string("id", required: true)!
        guard id.utf8.count <= 64, id.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 })
        else { throw bad("\"id\"", "must be lower-case letters, digits and dashes, at most 64") }
        let name = try string("name") ?? id
        let prefixes = try strings("prefixes", minimum: 2)
        let keywords = try strings("keywords", minimum: 3)
        if prefixes.isEmpty == keywords.isEmpty {
            throw bad("\"prefixes\" and \"keywords\"", "must be given one of them (a non-empty array), not both")
        }
        let alphabetName = try string("alphabet") ?? "alphanumeric"
        guard let alphabet = alphabets.first(where: { $0.0 == alphabetName })?.1 else {
            throw bad("\"alphabet\"", "must be one of \(alphabets.map(\.0).joined(separator: ", "))")
        }
        let minimum = try integer("min_length", default: 16)
        let maximum = try integer("max_length", default: max(minimum, 200))
        guard minimum <= maximum else { throw bad("\"min_length\"", "must not be larger than \"max_length\"") }
        guard minimum >= 8 else {
            throw bad("\"min_length\"", "must be at least 8 (shorter keys cannot be told from words)")
        }
        var entropy: Double?
        if let v = value("entropy"), v != .null {
            guard case .number(let text) = v, let e = Double(text), e >= 0, e <= 8 else {
                throw bad("\"entropy\"", "must be a number of bits per character from 0 to 8")
            }
            entropy = e
        }
        let allowlist = try strings("allowlist", minimum: 1)
        let severity: Finding.Severity
        switch try string("severity") ?? "error" {
        case "error": severity = .error
        case "warning": severity = .warning
        default: throw bad("\"severity\"", "must be error or warning")
        }
        let remediation = try string("remediation") ?? "Revoke the key where your team issues it and create a new one."
        let shape: SecretRule.Shape =
            prefixes.isEmpty
            ? .assignment(alphabet: alphabet, minimum: minimum, maximum: maximum)
            : .token(alphabet: alphabet, minimum: minimum, maximum: maximum)
        return SecretRule(
            id: id, name: name, prefixes: prefixes, shape: shape,
            family: "User rule (\(ProtectedFile.baseName(source)))",
            severity: severity, remediation: remediation, keywords: keywords, entropyFloor: entropy,
            allowlist: allowlist)
    }
}
