import ArgumentParser
import Keyway
import Synchronization

struct LeakCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leak-check",
        abstract: "Find credentials files and keys that leak into git, and credentials files others can read.",
        discussion: """
            Unless --no-home (or --staged), audits the machine: every credentials file the app specs (built-in and \
            user) and the well-known list name, Keyway's own files, and the home directory when it is a repository. \
            Each PATH is \
            scanned with every git repository under it (worktrees and submodules included) and the files that belong \
            to none. --staged scans only what is staged in the current repository (or the PATHs' repositories): the \
            pre-commit check. Repositories are read with git's hooks, filters and fsmonitor disabled, also when they \
            belong to another user.

            Exit status: 0 nothing at warning level or above; 1 findings; 2 the scan itself failed.
            """)

    @Argument(help: "Directories, repositories or files to scan.") var paths: [String] = []
    @Flag(help: "Also scan every commit of every ref.") var history = false
    @Flag(help: "Scan only staged changes (for a pre-commit hook); without PATH, the current repository.")
    var staged = false
    @Option(help: "Output format: text, json or sarif.") var format: String = "text"
    @Option(help: "Write the report to FILE (mode 0600) instead of standard output.") var output: String?
    @Flag(help: "Skip the machine audit (the credentials files of the home directory, Keyway's own files).")
    var noHome = false
    @Option(help: "Suppress the findings listed in this baseline file.") var baseline: String?
    @Flag(help: "Write every current finding to the --baseline file and exit 0.") var updateBaseline = false
    @Flag(help: "Print keys in clear in text and JSON output (never in SARIF).") var showSecrets = false
    @OptionGroup var store: StoreFlags

    func validate() throws {
        guard LeakReportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be text, json or sarif (got '\(format)').")
        }
        if updateBaseline, baseline == nil { throw ValidationError("--update-baseline needs --baseline FILE.") }
        if history, staged { throw ValidationError("--history and --staged cannot be used together.") }
    }

    func run() throws {
        // A JSON reader on standard output gets an object for a failed scan too (a missing or malformed baseline).
        try guarded(json: format == LeakReportFormat.json.rawValue && output == nil) {
            let context = try Context(store, checkingDirectories: false)  // reported as findings instead
            let environment = context.environment
            let cwd = currentDirectory()
            let format = LeakReportFormat(rawValue: format)!
            let stored = storedSecretsForLeakCheck(context.options)
            var options = LeakCheckOptions(
                paths: paths, history: history, staged: staged, machineAudit: !noHome && !staged,
                environment: environment, workingDirectory: cwd, specs: context.catalog.entries.map(\.spec),
                keywayFiles: context.options.paths.files,
                keywayDirectories: context.options.paths.directories,
                stored: stored.matcher)
            options.userRules = try UserRules.load(configDirectory: context.options.paths.configDirectory)
            // A progress line on a terminal's standard error, for scans past a second; never for JSON or SARIF.
            let progress: ProgressLine? = format == .text && Sys.isTerminal(2) ? ProgressLine() : nil
            if let progress {
                options.progress = { @Sendable (state: LeakProgress) in progress.show(state) }
            }
            var report = LeakChecker(options).run()
            progress?.clear()
            stored.record(in: &report)
            if let baseline {
                let path = Git.absolutePath(baseline, from: cwd)
                if updateBaseline {
                    let written = Baseline(findings: report.findings)
                    try ProtectedFile.replace(path, with: Array((written.json().serialized() + "\n").utf8))
                    printError("Wrote \(written.entries.count) fingerprint(s) to \(path).")
                    for error in report.errors { printError("Error: \(error)") }
                    return report.errors.isEmpty ? ExitStatus.success : ExitStatus.failure
                }
                report.apply(try Baseline.load(path))
            }
            let text: String
            switch format {
            case .text: text = report.text(showSecrets: showSecrets)
            case .json: text = report.json(showSecrets: showSecrets).serialized() + "\n"
            case .sarif:
                let rules = options.allRules
                let root = Git.repository(
                    containingDirectory: cwd, environment: Environment([:]), workingDirectory: cwd)?.root
                text =
                    report.sarif(rules: rules, sourceRoot: root ?? cwd, version: KeywayCommand.configuration.version)
                    .serialized() + "\n"
            }
            if let output {
                try ProtectedFile.replace(Git.absolutePath(output, from: cwd), with: Array(text.utf8))
            } else {
                try KeywayCLI.output(text)
            }
            if format != .text || output != nil {
                for error in report.errors { printError("Error: \(error)") }
            }
            return report.exitStatus
        }
    }
}

/// The line `leak-check` keeps rewriting on a terminal's standard error while a scan takes more than a second.
final class ProgressLine: Sendable {
    private let shown = Mutex(false)

    func show(_ progress: LeakProgress) {
        guard progress.seconds >= 1 else { return }
        shown.withLock { $0 = true }
        try? Sys.writeAll(2, Array(("\r\u{1b}[K" + progress.line).utf8))
    }

    /// Erases the line, when one was shown.
    func clear() {
        if shown.withLock({ $0 }) { try? Sys.writeAll(2, Array("\r\u{1b}[K".utf8)) }
    }
}
