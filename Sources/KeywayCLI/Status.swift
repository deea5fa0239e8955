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

    /// One line of the report.
    struct Entry {
        let id: CredentialID
        let secret: Secret
        let source: KeySource
        let credential: Credential?
        var warnings: [KeywayWarning]
    }

    func run() throws {
        try guarded {
            let context = try Context(store)
            let backend = try context.store()
            let profileFilter = profile.explicit(context.environment)
            var stored = try backend.list(app: app)
            if let profileFilter { stored = stored.filter { $0.id.profile == profileFilter } }
            let today = Day.today()

            var apps: [String] = []
            for name in (app.map { [$0] } ?? stored.map(\.id.app)) where !apps.contains(name) { apps.append(name) }

            var entries: [Entry] = []
            for name in apps {
                let variable = defaultEnvironmentVariable(for: name)
                let fromEnvironment = context.environment.nonEmpty(variable)
                if let value = fromEnvironment {
                    let id = CredentialID(app: name, profile: profile.resolved(context.environment))
                    entries.append(
                        Entry(id: id, secret: Secret(value), source: .environment(variable), credential: nil, warnings: []))
                }
                for credential in stored where credential.id.app == name {
                    var warnings = Report.expiryWarnings(credential, today: today)
                    if fromEnvironment != nil {
                        warnings.append(
                            KeywayWarning(
                                .environmentOverridesStore,
                                "\(variable) is set and overrides this stored key for every profile of \(name)."))
                    }
                    entries.append(
                        Entry(
                            id: credential.id, secret: credential.secret,
                            source: .store(backend: backend.backendName, location: backend.location),
                            credential: credential, warnings: warnings))
                }
            }

            let anyExpired = entries.contains { $0.credential?.isExpired(today: today) == true }
            if json {
                try output(
                    JSON.object([
                        ("credentials", .array(entries.map { Self.json($0, today: today) })),
                        ("warnings", .array(context.warnings.warnings.map(Report.json))),
                    ]).serialized())
            } else if entries.isEmpty {
                printError(
                    app.map { "No credential for \($0)\(profileFilter.map { " (profile \($0))" } ?? "")." }
                        ?? "No credentials found in the \(backend.backendName) store (\(backend.location)).")
            } else {
                try output(entries.map { Self.text($0, today: today) }.joined(separator: "\n"))
            }
            if entries.isEmpty || anyExpired { return ExitStatus.notFound }
            return ExitStatus.success
        }
    }

    static func text(_ entry: Entry, today: Day) -> String {
        var lines = ["\(entry.id.app) (profile \(entry.id.profile))"]
        func add(_ label: String, _ value: String) {
            lines.append("  " + (label + ":").padding(14) + value)
        }
        add("API Key", entry.secret.masked)
        switch entry.source {
        case .environment(let variable): add("Source", "environment variable \(variable)")
        case .store(let backend, let location): add("Source", "\(backend) store \(location)")
        case .flag: add("Source", "--api-key flag")
        }
        if let c = entry.credential {
            add("Account", c.account ?? "(not recorded)")
            add("Organization", c.organization ?? "(not recorded)")
            add("Scopes", c.scopes.isEmpty ? "(not recorded)" : c.scopes.joined(separator: ", "))
            add("Expires", Report.expiryText(c, today: today))
            add("Stored", c.created.description)
            if c.updated != c.created { add("Updated", c.updated.description) }
        }
        for warning in entry.warnings { add("Warning", warning.message) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func json(_ entry: Entry, today: Day) -> JSON {
        var source: [(String, JSON)] = [("kind", .string(entry.source.kind)), ("name", .optional(entry.source.name))]
        if case .store(_, let location) = entry.source { source.append(("location", .string(location))) }
        let c = entry.credential
        return .object([
            ("app", .string(entry.id.app)),
            ("profile", .string(entry.id.profile)),
            ("masked", .string(entry.secret.masked)),
            ("source", .object(source)),
            ("account", .optional(c?.account)),
            ("organization", .optional(c?.organization)),
            ("scopes", .array((c?.scopes ?? []).map { .string($0) })),
            ("expires", .optional(c?.expires?.description)),
            ("days_remaining", c?.daysRemaining(today: today).map { .int($0) } ?? .null),
            ("expired", .bool(c?.isExpired(today: today) ?? false)),
            ("created", .optional(c?.created.description)),
            ("updated", .optional(c?.updated.description)),
            ("warnings", .array(entry.warnings.map(Report.json))),
        ])
    }
}

/// Shared pieces of the human and JSON reports.
enum Report {
    static func expiryWarnings(_ c: Credential, today: Day) -> [KeywayWarning] {
        guard let expires = c.expires, let days = c.daysRemaining(today: today) else { return [] }
        if days < 0 {
            return [KeywayWarning(.expired, "This key expired on \(expires); store a new one with keyway login.")]
        }
        if days <= 14 {
            let when = days == 0 ? "today" : "in \(days) day\(days == 1 ? "" : "s")"
            return [KeywayWarning(.expiresSoon, "This key expires \(when) (\(expires)); rotate it soon.")]
        }
        return []
    }

    static func expiryText(_ c: Credential, today: Day) -> String {
        guard let expires = c.expires, let days = c.daysRemaining(today: today) else { return "(not recorded)" }
        if days < 0 { return "\(expires) (expired \(-days) day\(days == -1 ? "" : "s") ago)" }
        if days == 0 { return "\(expires) (expires today)" }
        return "\(expires) (\(days) day\(days == 1 ? "" : "s") remaining)"
    }

    static func json(_ warning: KeywayWarning) -> JSON {
        .object([("code", .string(warning.code.rawValue)), ("message", .string(warning.message))])
    }

    /// The fields `list --json` prints for a stored credential.
    static func storedFields(_ c: Credential) -> JSON {
        .object([
            ("app", .string(c.id.app)),
            ("profile", .string(c.id.profile)),
            ("masked", .string(c.secret.masked)),
            ("account", .optional(c.account)),
            ("organization", .optional(c.organization)),
            ("scopes", .array(c.scopes.map { .string($0) })),
            ("expires", .optional(c.expires?.description)),
            ("created", .string(c.created.description)),
            ("updated", .string(c.updated.description)),
        ])
    }

    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
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
