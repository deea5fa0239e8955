import Glibc
import KeywayCore

/// What to scan and how.
public struct LeakCheckOptions: Sendable {
    /// Directories, repositories or files to scan (absolute or relative to `workingDirectory`). Empty with
    /// `staged`: the whole repository `workingDirectory` is in, from its root or any directory inside it.
    public var paths: [String]
    /// Also scan every commit of every ref.
    public var history: Bool
    /// Scan only what is staged (the pre-commit case).
    public var staged: Bool
    /// Audit the machine: every credentials file the app specs and the well-known list name, Keyway's own files,
    /// and the home directory when it is a repository.
    public var machineAudit: Bool
    public var environment: Environment
    public var workingDirectory: String
    /// The app specs in force (their files and key prefixes).
    public var specs: [AppSpec]
    /// Keyway's own files (credentials file, vault, vault key file); the machine audit also reports the directories
    /// leading to them, symbolic links followed (see `DirectoryChain.problems(forFile:home:)`).
    public var keywayFiles: [String]
    /// The directories Keyway keeps its files in; the machine audit reports any that another user owns or that group
    /// or others can write (with their parents, see `DirectoryChain`).
    public var keywayDirectories: [String] = []
    /// Digests of the values Keyway stores.
    public var stored: StoredSecretMatcher?
    /// Rules of the user's own (`UserRules.load`), matched before the built-in ones.
    public var userRules: [SecretRule] = []
    /// Files and blobs larger than this many bytes are not read (a note lists them): memory stays bounded by it
    /// whatever a repository holds.
    public var maximumFileSize: Int = LeakCheckOptions.defaultMaximumFileSize

    /// Called now and then during the scan (at most four times a second) with what was scanned so far: the CLI's
    /// progress line. Nil: no calls.
    public var progress: (@Sendable (LeakProgress) -> Void)?

    /// Threads the content scan uses (`Parallel.threads`: the online CPUs, at most 8).
    package var threads = Parallel.threads

    /// 64 MiB.
    public static let defaultMaximumFileSize = 64 << 20

    /// Every content rule in force, in the order they win over each other: the app specs' prefixes, the user's
    /// rules, the built-in table.
    public var allRules: [SecretRule] { SecretRule.appRules(specs) + userRules + SecretRule.wellKnown }

    public init(
        paths: [String], history: Bool = false, staged: Bool = false, machineAudit: Bool, environment: Environment,
        workingDirectory: String, specs: [AppSpec], keywayFiles: [String] = [], keywayDirectories: [String] = [],
        stored: StoredSecretMatcher? = nil
    ) {
        self.paths = paths
        self.history = history
        self.staged = staged
        self.machineAudit = machineAudit
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.specs = specs
        self.keywayFiles = keywayFiles
        self.keywayDirectories = keywayDirectories
        self.stored = stored
    }
}

/// How far a scan has got.
public struct LeakProgress: Sendable, Equatable {
    public var files: Int
    public var blobs: Int
    public var commits: Int
    public var bytes: Int
    /// Since the scan started.
    public var seconds: Double

    /// `12,345 files, 6,789 blobs, 1,234 commits, 105 MB (210 MB/s)` (the parts that are not zero).
    public var line: String {
        func grouped(_ n: Int) -> String {
            let digits = Array(String(n))
            var out = ""
            for (i, d) in digits.enumerated() {
                if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
                out.append(d)
            }
            return out
        }
        var parts = ["\(grouped(files)) files"]
        if blobs > 0 { parts.append("\(grouped(blobs)) blobs") }
        if commits > 0 { parts.append("\(grouped(commits)) commits") }
        let megabytes = Double(bytes) / 1_000_000
        parts.append("\(grouped(Int(megabytes))) MB")
        let rate = seconds > 0 ? Int(megabytes / seconds) : 0
        return "leak-check: " + parts.joined(separator: ", ") + " (\(grouped(rate)) MB/s)"
    }
}

/// The result of a scan.
public struct LeakReport: Sendable {
    public var findings: [Finding] = []
    /// Parts of the scan that failed (exit status 2).
    public var errors: [String] = []
    /// Information about the scan itself (a store not consulted, a repository owned by another user).
    public var notes: [String] = []
    /// Notes that say something asked for was not scanned (a file over the size limit, a path behind a symbolic
    /// link, a repository whose git work tree is elsewhere, history beyond a shallow boundary). Every output shows
    /// them with the notes, and the text summary then never says "No leaks found".
    public var notScanned: [String] = []
    /// Keys left out because their line says `keyway:allow`.
    public var allowed = 0
    /// Findings left out because the baseline lists them.
    public var suppressed = 0
    public var filesScanned = 0
    public var bytesScanned = 0
    public var blobsScanned = 0
    public var commitsScanned = 0
    public var repositories: [String] = []

    public init() {}

    /// `notes`, then `notScanned`: what every output lists as notes.
    public var allNotes: [String] { notes + notScanned }

    /// 2 when the scan failed, 1 when a finding at warning level or above remains, else 0.
    public var exitStatus: Int32 {
        if !errors.isEmpty { return 2 }
        return findings.contains { $0.severity <= .warning } ? 1 : 0
    }

    /// Removes the findings the baseline lists.
    public mutating func apply(_ baseline: Baseline) {
        let before = findings.count
        findings.removeAll { baseline.contains($0) }
        suppressed += before - findings.count
    }
}

/// The scanner.
public final class LeakChecker {
    let options: LeakCheckOptions
    let scanner: ContentScanner
    var report = LeakReport()
    var scannedRepositories = Set<String>()
    /// Whether each repository scanned is shallow, as learnt with its work tree (`topLevelAndShallow`).
    var shallowRepositories: [String: Bool] = [:]
    var seen = Set<String>()
    let credentialNames: Set<String>
    let gitEnvironment: Environment
    /// Fingerprints of keys the committed files hold: history reports only keys they do not hold.
    var currentKeys = Set<String>()
    var historyKeys = Set<String>()
    /// Files and blobs not read because they are larger than the limit, with their size.
    var oversized: [(path: String, size: Int)] = []
    /// Paths not read because a directory on the way is a symbolic link.
    var behindLinks: [String] = []
    /// Seconds each git command may take (`KEYWAY_GIT_TIMEOUT`).
    var gitTimeout = GitRunner.defaultTimeout
    /// When the scan started and when progress was last reported (monotonic seconds).
    var started = 0.0
    var lastProgress = 0.0
    var sinceProgressCheck = 0
    /// Files and blobs read and not scanned yet (`scanContent`, `flushScans`), and their size.
    var queued: [QueuedScan] = []
    var queuedBytes = 0
    /// The batch being scanned on other threads (`startBatch`).
    var scanning: (batch: [QueuedScan], running: Parallel.Running<[UInt8], [ContentMatch]>)?

    public init(_ options: LeakCheckOptions) {
        self.options = options
        scanner = ContentScanner(
            rules: options.allRules, stored: options.stored)
        var names = Set<String>()
        for spec in options.specs {
            for source in spec.sources {
                if let name = source.credentialFileName { names.insert(name) }
            }
        }
        credentialNames = names
        var environment = options.environment
        for name in ["GIT_DIR", "GIT_WORK_TREE"] { environment.values[name] = nil }
        gitEnvironment = environment
    }

    public func run() -> LeakReport {
        started = Subprocess.monotonicSeconds()
        lastProgress = started
        do throws(KeywayError) {
            gitTimeout = try GitRunner.timeout(from: options.environment)
        } catch {
            fail(error.message)
            return report
        }
        if options.machineAudit { auditMachine() }
        if options.staged, options.paths.isEmpty { scanCurrentRepository() }
        for path in options.paths { scanPath(Git.absolutePath(path, from: options.workingDirectory)) }
        flushScans()
        if !oversized.isEmpty {
            report.notScanned.append(
                "Not scanned, larger than the \(Self.sizeText(options.maximumFileSize)) limit: "
                    + Self.list(oversized.map { "\($0.path) (\(Self.sizeText($0.size)))" }) + ".")
        }
        if !behindLinks.isEmpty {
            report.notScanned.append(
                "Not scanned, a directory on the way is a symbolic link (leak-check follows no link beneath a "
                    + "scanned root): " + Self.list(behindLinks) + ".")
        }
        report.findings.sort {
            ($0.repository ?? "\u{10FFFF}", $0.path, $0.line ?? 0, $0.rule) < (
                $1.repository ?? "\u{10FFFF}", $1.path, $1.line ?? 0, $1.rule
            )
        }
        report.repositories = scannedRepositories.sorted()
        return report
    }

    // MARK: Adding findings

    func add(_ finding: Finding) {
        let key = [
            finding.rule, finding.path, finding.line.map(String.init) ?? "", finding.commit ?? "",
            finding.fingerprint,
        ].joined(separator: "\0")
        guard seen.insert(key).inserted else { return }
        report.findings.append(finding)
    }

    func fail(_ message: String) { report.errors.append(message) }

    /// Calls `options.progress` when a quarter of a second has passed since the last call (the clock is read
    /// every 16 files or blobs).
    func noteProgress() {
        guard let progress = options.progress else { return }
        sinceProgressCheck += 1
        guard sinceProgressCheck >= 16 else { return }
        sinceProgressCheck = 0
        let now = Subprocess.monotonicSeconds()
        guard now - lastProgress >= 0.25 else { return }
        lastProgress = now
        progress(
            LeakProgress(
                files: report.filesScanned, blobs: report.blobsScanned, commits: report.commitsScanned,
                bytes: report.bytesScanned, seconds: now - started))
    }

    // MARK: Credentials files by name

    /// Whether a file name is that of a credentials or key file: `.env` and `.env.*` (not `.example`, `.sample`,
    /// `.template`, `.dist`, `.defaults`), `*.key`, `credentials*.json`/`.yaml`/`.yml`, `credentials`, `.netrc`,
    /// `.git-credentials`, `.pypirc`, private SSH keys (`id_rsa`, `id_ed25519`...), PuTTY keys (`*.ppk`), keystores
    /// (`*.jks`, `*.keystore`, `*.p12`, `*.pfx`), `secrets.toml`/`.yaml`/`.yml`, `terraform.tfvars`, `*.auto.tfvars`,
    /// `service-account.json`, and the file names the app specs read. (A Google service-account key is also
    /// recognised by its content, see `isCredentialsContent`.)
    public func isCredentialsFileName(_ name: String) -> Bool {
        if credentialNames.contains(name) { return true }
        if name == ".env" { return true }
        if name.hasPrefix(".env.") {
            let exampleSuffixes = [".example", ".sample", ".template", ".dist", ".defaults", ".tmpl"]
            return !exampleSuffixes.contains { name.hasSuffix($0) }
        }
        for suffix in [".key", ".ppk", ".jks", ".keystore", ".p12", ".pfx", ".auto.tfvars"]
        where name.hasSuffix(suffix) && name.count > suffix.count {
            return true
        }
        if name.hasPrefix("credentials")
            && (name == "credentials" || name.hasSuffix(".json") || name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
        {
            return true
        }
        return [
            ".netrc", "_netrc", ".git-credentials", ".pypirc", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
            "secrets.toml", "secrets.yaml", "secrets.yml", "terraform.tfvars", "service-account.json",
            "service_account.json",
        ]
        .contains(name)
    }

}
