import ArgumentParser
import Keyway

struct Backends: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the storage backends, whether each is usable now, where it stores, and why not.",
        discussion: "With --backend auto (the default), writes go to the backend marked as auto's target.")

    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var store: StoreFlags

    func run() throws {
        try guarded(json: json) {
            let context = try Context(store)
            let (statuses, target) = backendReport(context.options)
            if json {
                try output(
                    JSON.object([
                        (
                            "backends",
                            .array(
                                statuses.map { status in
                                    .object([
                                        ("name", .string(status.name.rawValue)),
                                        ("usable", .bool(status.usable)),
                                        ("location", .string(status.location)),
                                        ("reason", .optional(status.reason)),
                                    ])
                                })
                        ),
                        ("auto_writes_to", .string(target.rawValue)),
                    ]).serialized())
                return ExitStatus.success
            }
            var lines: [String] = []
            for status in statuses {
                lines.append("\(status.name)\(status.name == target ? " (auto writes here)" : "")")
                lines.append("  Usable:   " + (status.usable ? "yes" : "no"))
                lines.append("  Location: " + status.location)
                if let reason = status.reason { lines.append("  Why not:  " + reason) }
            }
            try output(lines.joined(separator: "\n") + "\n")
            return ExitStatus.success
        }
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move credentials from every other backend into one, without losing any.",
        discussion: """
            Each credential is written to the target and read back before it is deleted from its sources. A \
            credential whose copies differ (the target's and a source's, or two sources') is moved from no store, so \
            the copy in use stays in use, and reported; the exit status is then 1.
            """)

    @Option(help: "The backend to move credentials into: keyring, encrypted, plaintext or openbao.") var to: String
    @Option(help: "Only this app's credentials.") var app: String?
    @Flag(help: "Refuse a credentials file that group or others can access, instead of warning (also KEYWAY_STRICT=1).")
    var strict = false

    func run() throws {
        try guarded {
            let environment = Environment.process()
            let warnings = WarningPrinter()
            let options = try StoreOptions(
                environment: environment, backend: nil, strict: strict, warn: warnings.handler)
            try options.paths.checkDirectories(home: environment.home, strict: options.strict, warn: warnings.handler)
            let target = try BackendName(parsing: to)
            // Counted by credential: one may have had copies in several sources.
            var movedIDs = Set<CredentialID>()
            var conflictIDs = Set<CredentialID>()
            // A failed write to stdout (closed pipe, full disk) is reported once the migration is done, never lost.
            var outputFailure: KeywayError?
            func printLine(_ text: String) {
                guard outputFailure == nil else { return }
                do throws(KeywayError) { try output(text + "\n") } catch { outputFailure = error }
            }
            try migrate(to: target, app: app, options: options) { event in
                switch event {
                case .moved(let id, let from):
                    movedIDs.insert(id)
                    printLine("Moved \(id) from the \(from) store to the \(target) store.")
                case .alreadyPresent(let id, let from):
                    movedIDs.insert(id)
                    printLine("\(id) was already in the \(target) store; removed the copy in the \(from) store.")
                case .conflict(let id, let from, let other):
                    conflictIDs.insert(id)
                    printError(
                        "Left \(id) in the \(from) store: the \(other) store holds a different key (or details) for "
                            + "it, so it was moved from no store and the copy in use is unchanged. Remove one (keyway "
                            + "logout \(id.app) --profile \(id.profile) --backend ...) and run migrate again.")
                case .sourceSkipped(let name, let reason):
                    printError("Skipped the \(name) store: \(reason)")
                }
            }
            let moved = movedIDs.count, conflicts = conflictIDs.count
            printLine(
                moved == 0 && conflicts == 0
                    ? "Nothing to move\(app.map { " for \($0)" } ?? "") into the \(target) store."
                    : "\(moved) credential\(moved == 1 ? "" : "s") now in the \(target) store"
                        + (conflicts == 0 ? "." : "; \(conflicts) left in place (conflicts above)."))
            if let outputFailure { throw outputFailure }
            return conflicts == 0 ? ExitStatus.success : ExitStatus.notFound
        }
    }
}
