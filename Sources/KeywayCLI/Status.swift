import ArgumentParser
import Keyway

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each stored credential and each one supplied by the environment.",
        discussion: "Exits 1 when nothing is found or when a credential shown has expired.")

    @Argument(help: "Only this app.") var app: String?
    @OptionGroup var profile: ProfileOption
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var store: StoreFlags

    func run() throws {
        try guarded(json: json) {
            let context = try Context(store)
            if let app { context.warnIfUnknownApp(app) }
            let backend = try context.store()
            let profileFilter = profile.explicit(context.environment)
            let report = try StatusReport(
                options: context.options, store: backend, specs: context.catalog.entries.map(\.spec), app: app,
                profile: profileFilter)
            for note in report.notes { printError("Note: \(note)") }
            for problem in report.problems {
                switch problem {
                case .error(let error): printError("Error: \(error.message)")
                case .warning(let warning): context.warnings.handle(warning)
                }
            }
            let entries = report.credentials
            let failure = report.error
            let today = Day.today()
            let anyExpired = entries.contains { $0.isExpired(today: today) }
            if json {
                try output(
                    JSON.object([
                        ("credentials", .array(entries.map { Self.json($0, today: today) })),
                        ("warnings", .array(context.warnings.warnings.map(Report.json))),
                        ("error", failure.map(Report.json) ?? .null),
                    ]).serialized())
            } else if entries.isEmpty {
                printError(
                    app.map {
                        "No credential for \(APIKeyRules.shownName($0))"
                            + "\(profileFilter.map { " (profile \(APIKeyRules.shownName($0)))" } ?? "")."
                    }
                        ?? "No credentials found in the \(backend.backendName) store (\(backend.location)).")
            } else {
                try output(entries.map { Self.text($0, today: today) }.joined(separator: "\n"))
            }
            if failure != nil { return ExitStatus.failure }
            if entries.isEmpty || anyExpired { return ExitStatus.notFound }
            return ExitStatus.success
        }
    }

    static func text(_ entry: CredentialStatus, today: Day) -> String {
        var lines = ["\(entry.id.app) (profile \(entry.id.profile))"]
        func add(_ label: String, _ value: String) {
            lines.append("  " + (label + ":").padding(14) + value)
        }
        add("API Key", entry.masked)
        if let kind = entry.kind { add("Kind", kind.name) }
        switch entry.key.source {
        case .store(let backend, let location): add("Source", "\(backend) store \(location)")
        default: add("Source", entry.key.source.description)
        }
        add("In use", entry.inUse ? "yes" : "no")
        let c = entry.key
        if case .environment = c.source {
        } else {
            add("Account", c.account ?? "(not recorded)")
            add("Organization", c.organization ?? "(not recorded)")
            add("Scopes", c.scopes.isEmpty ? "(not recorded)" : c.scopes.joined(separator: ", "))
            add("Expires", Report.expiryText(c.expires, today: today))
        }
        if let credential = c.credential {
            add("Stored", credential.created.description)
            if credential.updated != credential.created { add("Updated", credential.updated.description) }
        }
        for warning in entry.warnings { add("Warning", warning.message) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func json(_ entry: CredentialStatus, today: Day) -> JSON {
        let c = entry.key
        return .object([
            ("app", .string(entry.id.app)),
            ("profile", .string(entry.id.profile)),
            ("masked", .string(entry.masked)),
            ("key_kind", .optional(entry.kind?.name)),
            ("source", Resolve.sourceJSON(c.source)),
            ("in_use", .bool(entry.inUse)),
            ("account", .optional(c.account)),
            ("organization", .optional(c.organization)),
            ("scopes", .array(c.scopes.map { .string($0) })),
            ("expires", .optional(c.expires?.description)),
            ("days_remaining", c.expires.map { .int($0.days(since: today)) } ?? .null),
            ("expired", .bool(c.expires.map { $0 < today } ?? false)),
            ("created", .optional(c.credential?.created.description)),
            ("updated", .optional(c.credential?.updated.description)),
            ("warnings", .array(entry.warnings.map(Report.json))),
        ])
    }
}

/// Shared pieces of the human and JSON reports.
enum Report {
    static func expiryText(_ expires: Day?, today: Day) -> String {
        guard let expires else { return "(not recorded)" }
        let days = expires.days(since: today)
        if days < 0 { return "\(expires) (expired \(-days) day\(days == -1 ? "" : "s") ago)" }
        if days == 0 { return "\(expires) (expires today)" }
        return "\(expires) (\(days) day\(days == 1 ? "" : "s") remaining)"
    }

    static func json(_ warning: KeywayWarning) -> JSON {
        .object([("code", .string(warning.code.rawValue)), ("message", .string(warning.message))])
    }

    /// The `error` member of a `--json` object.
    static func json(_ error: KeywayError) -> JSON {
        .object([("code", .string(error.code.rawValue)), ("message", .string(error.message))])
    }

    /// The fields `list --json` prints for a stored copy of a credential.
    static func storedFields(_ copy: StoredCopy, masked: String) -> JSON {
        guard case .object(let members) = storedFields(copy.credential, masked: masked) else { return .null }
        return .object(
            members + [
                ("backend", .string(copy.backend)), ("location", .string(copy.location)), ("in_use", .bool(copy.inUse)),
            ])
    }

    /// The fields `list --json` prints for a stored credential.
    static func storedFields(_ c: Credential, masked: String) -> JSON {
        .object([
            ("app", .string(c.id.app)),
            ("profile", .string(c.id.profile)),
            ("masked", .string(masked)),
            ("account", .optional(c.account)),
            ("organization", .optional(c.organization)),
            ("scopes", .array(c.scopes.map { .string($0) })),
            ("expires", .optional(c.expires?.description)),
            ("created", .string(c.created.description)),
            ("updated", .string(c.updated.description)),
        ])
    }

    static func table(header: [String], rows: [[String]]) -> String {
        // Cells escaped before they are measured, so an escaped control character keeps the columns aligned
        // (`output` would escape it anyway).
        let all = ([header] + rows).map { $0.map { TerminalText.escaped($0) } }
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                line += column == row.count - 1 ? cell : cell.padding(widths[column] + 2)
            }
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
