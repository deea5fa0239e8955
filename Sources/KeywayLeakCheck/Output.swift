import KeywayCore

/// The report in each output format.
public enum LeakReportFormat: String, Sendable, CaseIterable {
    case text, json, sarif
}

extension LeakReport {
    /// JSON: `{"findings": [...], "errors": [...], "notes": [...], "summary": {...}}` (`notes` holds the notes
    /// saying what was not scanned too; `summary.not_scanned` counts those). Each finding has `kind`,
    /// `rule`, `severity`, `path`, `repository`, `git`, `line`, `commit`, `masked`, `message`, `fix`,
    /// `fingerprint`, and `secret` only when `showSecrets` is set.
    package func json(showSecrets: Bool) -> JSON {
        .object([
            (
                "findings",
                .array(
                    findings.map { finding in
                        var members: [(String, JSON)] = [
                            ("kind", .string(finding.kind.rawValue)), ("rule", .string(finding.rule)),
                            ("severity", .string(finding.severity.rawValue)), ("path", .string(finding.path)),
                            ("repository", .optional(finding.repository)), ("git", .optional(finding.git?.rawValue)),
                            ("line", finding.line.map { .int($0) } ?? .null), ("commit", .optional(finding.commit)),
                            ("masked", .optional(finding.masked)), ("message", .string(finding.message)),
                            ("fix", .string(finding.fix)), ("fingerprint", .string(finding.fingerprint)),
                        ]
                        if showSecrets { members.append(("secret", .optional(finding.secret?.reveal()))) }
                        return .object(members)
                    })
            ),
            ("errors", .array(errors.map { .string($0) })),
            ("notes", .array(allNotes.map { .string($0) })),
            ("summary", summaryJSON),
        ])
    }

    /// The JSON report as text, as `keyway leak-check --format json` prints it (ending in a newline).
    public func jsonText(showSecrets: Bool) -> String { json(showSecrets: showSecrets).serialized() + "\n" }

    /// The SARIF 2.1.0 log as text, as `keyway leak-check --format sarif` prints it (ending in a newline).
    public func sarifText(rules: [SecretRule], sourceRoot: String?, version: String) -> String {
        sarif(rules: rules, sourceRoot: sourceRoot, version: version).serialized() + "\n"
    }

    var summaryJSON: JSON {
        .object([
            ("errors", .int(findings.filter { $0.severity == .error }.count)),
            ("warnings", .int(findings.filter { $0.severity == .warning }.count)),
            ("info", .int(findings.filter { $0.severity == .info }.count)),
            ("allowed", .int(allowed)), ("suppressed", .int(suppressed)),
            ("repositories", .array(repositories.map { .string($0) })),
            ("files_scanned", .int(filesScanned)), ("blobs_scanned", .int(blobsScanned)),
            ("commits_scanned", .int(commitsScanned)), ("bytes_scanned", .int(bytesScanned)),
            ("not_scanned", .int(notScanned.count)),
            ("exit_status", .int(Int(exitStatus))),
        ])
    }

    /// Text for people: findings grouped by repository, each with its fix. Everything that comes from scanned input
    /// (paths, git's messages, keys with --show-secrets) goes through `TerminalText.escaped`: no control character
    /// reaches the terminal raw.
    public func text(showSecrets: Bool) -> String {
        func safe(_ text: String) -> String { TerminalText.escaped(text) }
        var out = ""
        var groups: [(String?, [Finding])] = []
        for finding in findings {
            if let last = groups.last, last.0 == finding.repository {
                groups[groups.count - 1].1.append(finding)
            } else {
                groups.append((finding.repository, [finding]))
            }
        }
        for (repository, items) in groups {
            out += repository.map { "Repository \(safe($0))\n" } ?? "Outside any repository\n"
            for finding in items {
                var location = finding.relativePath
                if let line = finding.line { location += ":\(line)" }
                if let commit = finding.commit { location += " @ \(commit.prefix(12))" }
                let gitText = finding.git.map { " (\($0.rawValue))" } ?? ""
                out += "  \(finding.severity.rawValue.uppercased()) \(finding.rule): \(safe(location))\(gitText)\n"
                out += "    \(safe(finding.message))\n"
                if showSecrets, let secret = finding.secret {
                    out += "    Secret: \(TerminalText.escaped(secret.reveal(), keepingNewlines: true))\n"
                }
                out += "    Fix: \(safe(finding.fix))\n"
            }
            out += "\n"
        }
        for note in allNotes { out += "Note: \(safe(note))\n" }
        for error in errors { out += "Error: \(safe(error))\n" }
        // A scan that failed and found nothing has no summary: "No leaks found" would not be true.
        if findings.isEmpty && !errors.isEmpty { return out }
        let counts = (
            findings.filter { $0.severity == .error }.count, findings.filter { $0.severity == .warning }.count,
            findings.filter { $0.severity == .info }.count
        )
        func count(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
        // Something asked for was not scanned: never "No leaks found".
        var summary =
            findings.isEmpty
            ? (notScanned.isEmpty ? "No leaks found" : "Incomplete scan: nothing found in what was scanned")
            : "\(counts.0) error(s), \(counts.1) warning(s), \(counts.2) info"
        summary +=
            " (\(count(repositories.count, "repository", "repositories")), "
            + count(filesScanned, "file", "files")
        if commitsScanned > 0 {
            summary += ", \(count(commitsScanned, "commit", "commits")), \(count(blobsScanned, "blob", "blobs"))"
        }
        summary += ")"
        if allowed > 0 { summary += "; \(allowed) allowed by keyway:allow" }
        if suppressed > 0 { summary += "; \(suppressed) suppressed by the baseline" }
        if !notScanned.isEmpty {
            summary += "; NOT SCANNED: \(count(notScanned.count, "item", "items")), see the notes above"
        }
        return out + summary + ".\n"
    }

    /// SARIF 2.1.0: one run, the rules used, one result per finding with a location relative to its repository
    /// (base id `SRCROOT` for `sourceRoot`, `ROOT1`... for other repositories, `FILESYSTEM` for paths outside any),
    /// start lines for keys, and partial fingerprints. Never a secret, only masked forms.
    package func sarif(rules: [SecretRule], sourceRoot: String?, version: String) -> JSON {
        var descriptions: [RuleDescription] = FileRules.descriptions
        for rule in rules + [ContentScanner.storedRule] where !descriptions.contains(where: { $0.id == rule.id }) {
            descriptions.append(FileRules.description(of: rule))
        }
        let used = Set(findings.map(\.rule))
        descriptions = descriptions.filter { used.contains($0.id) }
        var baseIds: [(String, String)] = []
        func baseId(for repository: String?) -> String {
            guard let repository else {
                if !baseIds.contains(where: { $0.0 == "FILESYSTEM" }) { baseIds.append(("FILESYSTEM", "/")) }
                return "FILESYSTEM"
            }
            if let existing = baseIds.first(where: { $0.1 == repository }) { return existing.0 }
            let id = repository == sourceRoot ? "SRCROOT" : "ROOT\(baseIds.filter { $0.0.hasPrefix("ROOT") }.count + 1)"
            baseIds.append((id, repository))
            return id
        }
        let results: [JSON] = findings.map { finding in
            let ruleIndex = descriptions.firstIndex { $0.id == finding.rule } ?? 0
            var region: [(String, JSON)] = []
            if let line = finding.line { region.append(("startLine", .int(line))) }
            let relative = finding.repository == nil ? String(finding.path.dropFirst()) : finding.relativePath
            var physical: [(String, JSON)] = [
                (
                    "artifactLocation",
                    .object([
                        ("uri", .string(uriEncode(relative))), ("uriBaseId", .string(baseId(for: finding.repository))),
                    ])
                )
            ]
            if !region.isEmpty { physical.append(("region", .object(region))) }
            var properties: [(String, JSON)] = [("kind", .string(finding.kind.rawValue))]
            if let git = finding.git { properties.append(("git", .string(git.rawValue))) }
            if let commit = finding.commit { properties.append(("commit", .string(commit))) }
            if let repository = finding.repository { properties.append(("repository", .string(repository))) }
            return .object([
                ("ruleId", .string(finding.rule)), ("ruleIndex", .int(ruleIndex)),
                ("level", .string(finding.severity.sarifLevel)),
                ("message", .object([("text", .string(finding.message + " Fix: " + finding.fix))])),
                ("locations", .array([.object([("physicalLocation", .object(physical))])])),
                ("partialFingerprints", .object([("keywayFingerprint/v1", .string(finding.fingerprint))])),
                ("properties", .object(properties)),
            ])
        }
        let driver: JSON = .object([
            ("name", .string("keyway-leak-check")), ("semanticVersion", .string(version)),
            (
                "rules",
                .array(
                    descriptions.map { d in
                        .object([
                            ("id", .string(d.id)), ("name", .string(d.name)),
                            ("shortDescription", .object([("text", .string(d.summary))])),
                            ("fullDescription", .object([("text", .string(d.summary + " " + d.help))])),
                            ("help", .object([("text", .string(d.help))])),
                            ("defaultConfiguration", .object([("level", .string(d.level.sarifLevel))])),
                        ])
                    })
            ),
        ])
        let originalBases: JSON = .object(
            baseIds.map { id, path in
                (id, .object([("uri", .string("file://" + uriEncode(path.hasSuffix("/") ? path : path + "/")))]))
            })
        // Notes go out as notifications too: "note" for information, "warning" for what was not scanned.
        var invocation: [(String, JSON)] = [("executionSuccessful", .bool(errors.isEmpty))]
        let notifications =
            notes.map { ("note", $0) } + notScanned.map { ("warning", $0) } + errors.map { ("error", $0) }
        if !notifications.isEmpty {
            invocation.append(
                (
                    "toolExecutionNotifications",
                    .array(
                        notifications.map { level, text in
                            .object([("level", .string(level)), ("message", .object([("text", .string(text))]))])
                        })
                ))
        }
        return .object([
            ("$schema", .string("https://json.schemastore.org/sarif-2.1.0.json")),
            ("version", .string("2.1.0")),
            (
                "runs",
                .array([
                    .object([
                        ("tool", .object([("driver", driver)])),
                        ("originalUriBaseIds", originalBases),
                        ("invocations", .array([.object(invocation)])),
                        ("results", .array(results)),
                    ])
                ])
            ),
        ])
    }
}

/// Percent-encodes a path for a URI (RFC 3986): unreserved characters and `/` stay, every other byte of the
/// UTF-8 form becomes `%XX`.
package func uriEncode(_ path: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    // A path's own bytes (`FileNames`: an escaped name's real bytes, `key%FF.txt`).
    for b in FileNames.bytes(path) {
        let unreserved =
            (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57)
            || b == 45 || b == 46 || b == 95 || b == 126 || b == 47
        if unreserved {
            out.append(b)
        } else {
            out += [37, hex[Int(b >> 4)], hex[Int(b & 15)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}
