import KeywayCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
    /// Keyway's own files (credentials file, vault).
    public var keywayFiles: [String]
    /// Digests of the values Keyway stores.
    public var stored: StoredSecretMatcher?

    public init(
        paths: [String], history: Bool = false, staged: Bool = false, machineAudit: Bool, environment: Environment,
        workingDirectory: String, specs: [AppSpec], keywayFiles: [String] = [], stored: StoredSecretMatcher? = nil
    ) {
        self.paths = paths
        self.history = history
        self.staged = staged
        self.machineAudit = machineAudit
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.specs = specs
        self.keywayFiles = keywayFiles
        self.stored = stored
    }
}

/// The result of a scan.
public struct LeakReport: Sendable {
    public var findings: [Finding] = []
    /// Parts of the scan that failed (exit status 2).
    public var errors: [String] = []
    /// Information about the scan itself (a store not consulted, a repository owned by another user).
    public var notes: [String] = []
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
    private var scannedRepositories = Set<String>()
    private var seen = Set<String>()
    private let credentialNames: Set<String>
    private let gitEnvironment: Environment
    /// Fingerprints of keys found outside history: history reports only keys the current files do not hold.
    private var currentKeys = Set<String>()
    private var historyKeys = Set<String>()
    /// Seconds each git command may take (`KEYWAY_GIT_TIMEOUT`).
    private var gitTimeout = GitRunner.defaultTimeout

    public init(_ options: LeakCheckOptions) {
        self.options = options
        scanner = ContentScanner(
            rules: SecretRule.appRules(options.specs) + SecretRule.wellKnown, stored: options.stored)
        var names = Set<String>()
        for spec in options.specs {
            for source in spec.sources {
                switch source {
                case .json(let location, _), .raw(let location), .yamlProfiles(let location, _, _):
                    names.insert(ProtectedFile.baseName(location.path))
                case .gitRoot(let name): names.insert(name)
                case .store: break
                }
            }
        }
        credentialNames = names
        var environment = options.environment
        for name in ["GIT_DIR", "GIT_WORK_TREE"] { environment.values[name] = nil }
        gitEnvironment = environment
    }

    public func run() -> LeakReport {
        do throws(KeywayError) {
            gitTimeout = try GitRunner.timeout(from: options.environment)
        } catch {
            fail(error.message)
            return report
        }
        if options.machineAudit { auditMachine() }
        if options.staged, options.paths.isEmpty { scanCurrentRepository() }
        for path in options.paths { scanPath(Git.absolutePath(path, from: options.workingDirectory)) }
        report.findings.sort {
            ($0.repository ?? "\u{10FFFF}", $0.path, $0.line ?? 0, $0.rule) < ($1.repository ?? "\u{10FFFF}", $1.path, $1.line ?? 0, $1.rule)
        }
        report.repositories = scannedRepositories.sorted()
        return report
    }

    // MARK: Adding findings

    private func add(_ finding: Finding) {
        let key = [finding.rule, finding.path, finding.line.map(String.init) ?? "", finding.commit ?? "",
                   finding.fingerprint].joined(separator: "\0")
        guard seen.insert(key).inserted else { return }
        report.findings.append(finding)
    }

    private func fail(_ message: String) { report.errors.append(message) }

    // MARK: Credentials files by name

    /// Whether a file name is that of a credentials or key file: `.env` and `.env.*` (not `.example`, `.sample`,
    /// `.template`, `.dist`, `.defaults`), `*.key`, `credentials*.json`, `credentials`, `.netrc`, `.git-credentials`,
    /// `.pypirc`, private SSH keys (`id_rsa`, `id_ed25519`...), and the file names the app specs read.
    public func isCredentialsFileName(_ name: String) -> Bool {
        if credentialNames.contains(name) { return true }
        if name == ".env" { return true }
        if name.hasPrefix(".env.") {
            let exampleSuffixes = [".example", ".sample", ".template", ".dist", ".defaults", ".tmpl"]
            return !exampleSuffixes.contains { name.hasSuffix($0) }
        }
        if name.hasSuffix(".key") && name.count > 4 { return true }
        if name.hasPrefix("credentials") && (name == "credentials" || name.hasSuffix(".json")) { return true }
        return [".netrc", "_netrc", ".git-credentials", ".pypirc", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"]
            .contains(name)
    }

    // MARK: Machine audit

    /// The credentials files of the machine: the app specs' files, Keyway's own files and the well-known ones.
    public func machineFiles() -> [String] {
        var files: [String] = []
        func add(_ path: String) { if !files.contains(path) { files.append(path) } }
        let environment = options.environment
        for spec in options.specs {
            for source in spec.sources {
                switch source {
                case .json(let location, _), .raw(let location), .yamlProfiles(let location, _, _):
                    let path = location.resolve(environment).path
                    if path.hasPrefix("/") { add(path) }
                case .gitRoot, .store: break
                }
            }
        }
        options.keywayFiles.forEach(add)
        if let home = environment.home {
            for relative in [
                ".aws/credentials", ".netrc", ".npmrc", ".pypirc", ".docker/config.json", ".config/gh/hosts.yml",
                ".git-credentials",
            ] {
                add(home + "/" + relative)
            }
            if environment.nonEmpty("KUBECONFIG") == nil { add(home + "/.kube/config") }
        }
        if let aws = environment.nonEmpty("AWS_SHARED_CREDENTIALS_FILE"), aws.hasPrefix("/") { add(aws) }
        if let kube = environment.nonEmpty("KUBECONFIG") {
            for part in kube.split(separator: ":") where part.hasPrefix("/") { add(String(part)) }
        }
        return files
    }

    func auditMachine() {
        for file in machineFiles() {
            guard let st = try? Sys.lstat(file) else { continue }
            // A symbolic link (dotfiles managers): audit the file it points to.
            var target = file
            if FileMode.isSymlink(st) {
                guard let real = try? Sys.realpath(file) else { continue }
                target = real
            }
            guard let tst = try? Sys.statFollowingLinks(target), FileMode.isRegular(tst) else { continue }
            let repository = Git.repository(
                containingFile: target, environment: gitEnvironment, workingDirectory: options.workingDirectory)
            var state: Finding.GitStatus?
            if let repository {
                let runner = GitRunner(root: repository.root, timeout: gitTimeout)
                do throws(KeywayError) {
                    state = try fileState(runner, relative: Finding.relative(target, to: repository.root))
                } catch {
                    fail(error.message)
                }
                if let state {
                    addCredentialsFileFinding(target, repository: repository.root, state: state)
                }
            }
            checkPermissions(target, repository: repository?.root, git: state)
        }
        // The home directory itself as a repository (dotfiles): its tracked files.
        if let home = options.environment.home, let st = try? Sys.lstat(home + "/.git"), st.st_mode != 0 {
            scanRepository(home, prefix: nil, trackedOnly: true)
        }
    }

    /// Tracked, staged (added to the index and not yet in HEAD), ignored or untracked.
    func fileState(_ runner: GitRunner, relative: String) throws(KeywayError) -> Finding.GitStatus {
        if !(try runner.run(["ls-files", "-z", "--cached", "--", relative]).isEmpty) {
            let added = try runner.paths(["diff", "--cached", "--name-only", "-z", "--diff-filter=A", "--no-renames",
                                          "--no-ext-diff", "--", relative])
            let hasHead = (try? runner.run(["rev-parse", "--verify", "--quiet", "HEAD"])) != nil
            return (!hasHead || !added.isEmpty) ? .staged : .tracked
        }
        let ignored = try runner.run(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", relative])
        return ignored.isEmpty ? .untracked : .ignored
    }

    // MARK: Paths

    /// The repository of the working directory, whole (the pre-commit check without PATH).
    func scanCurrentRepository() {
        guard let repository = currentRepository else {
            fail("\(options.workingDirectory) is not inside a git repository, so it has no staged changes.")
            return
        }
        scanRepository(repository, prefix: nil)
    }

    /// The root of the repository the working directory is in (the directory itself may be that root).
    private var currentRepository: String? {
        Git.repository(
            containingDirectory: options.workingDirectory, environment: gitEnvironment,
            workingDirectory: options.workingDirectory)?.root
    }

    func scanPath(_ path: String) {
        guard let st = try? Sys.lstat(path) else {
            fail("\(path) does not exist or cannot be read.")
            return
        }
        if FileMode.isDirectory(st), (try? Sys.lstat(path + "/.git")) != nil {
            scanRepository(path, prefix: nil)
            return
        }
        let repository = FileMode.isDirectory(st)
            ? Git.repository(containingDirectory: path, environment: gitEnvironment, workingDirectory: options.workingDirectory)
            : Git.repository(containingFile: path, environment: gitEnvironment, workingDirectory: options.workingDirectory)
        if let repository {
            let relative = Finding.relative(FileMode.isDirectory(st) ? path : path, to: repository.root)
            scanRepository(repository.root, prefix: relative == repository.root ? nil : relative)
            return
        }
        if options.staged {
            fail("\(path) is not inside a git repository, so it has no staged changes.")
            return
        }
        if FileMode.isDirectory(st) { walk(path) } else if FileMode.isRegular(st) { scanLooseFile(path) }
    }

    /// A directory that belongs to no repository: its files are scanned; each repository found under it is
    /// scanned as a repository.
    func walk(_ directory: String) {
        guard let dir = opendir(directory) else {
            fail("Cannot read the directory \(directory): \(Errno.current).")
            return
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names.sorted() {
            let path = directory == "/" ? "/" + name : directory + "/" + name
            guard let st = try? Sys.lstat(path) else { continue }
            if FileMode.isDirectory(st) {
                if (try? Sys.lstat(path + "/.git")) != nil { scanRepository(path, prefix: nil) } else { walk(path) }
            } else if FileMode.isRegular(st) {
                scanLooseFile(path)
            }
        }
    }

    func scanLooseFile(_ path: String) {
        if isCredentialsFileName(ProtectedFile.baseName(path)) {
            checkPermissions(path, repository: nil, git: nil)
        }
        guard let bytes = readRegularFile(path) else { return }
        scanContent(bytes, path: path, repository: nil, git: nil, commit: nil)
    }

    /// The bytes of a regular file (never a FIFO, device or symbolic link); nil with an error recorded when it
    /// cannot be read, nil silently when it is not a regular file.
    func readRegularFile(_ path: String) -> [UInt8]? {
        let fd: Int32
        do throws(Errno) {
            fd = try Sys.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        } catch {
            if error == .loop || error == .noEntry { return nil }
            fail("Cannot read \(path): \(error).")
            return nil
        }
        defer { Sys.close(fd) }
        guard let st = try? Sys.fstat(fd), FileMode.isRegular(st) else { return nil }
        do throws(Errno) {
            return try Sys.readAll(fd)
        } catch {
            fail("Cannot read \(path): \(error).")
            return nil
        }
    }

    // MARK: Repositories

    func under(_ relative: String, _ prefix: String?) -> Bool {
        guard let prefix, !prefix.isEmpty else { return true }
        return relative == prefix || relative.hasPrefix(prefix.hasSuffix("/") ? prefix : prefix + "/")
    }

    /// Scans one repository: its credentials files, the content of its tracked and untracked files (or only what
    /// is staged), its history when asked, and the repositories nested in it (submodules, nested clones, linked
    /// worktrees inside it).
    func scanRepository(_ root: String, prefix: String?, trackedOnly: Bool = false) {
        guard seen.insert("repository\0" + root + "\0" + (prefix ?? "")).inserted else { return }
        scannedRepositories.insert(root)
        let runner = GitRunner(root: root, keepIndexFile: currentRepository == root, timeout: gitTimeout)
        if let st = try? Sys.lstat(root), st.st_uid != Sys.effectiveUserID {
            report.notes.append(
                "\(root) belongs to uid \(st.st_uid), not to you: it was read with git's hooks, filters, fsmonitor "
                    + "and external commands disabled.")
        }
        do throws(KeywayError) {
            if options.staged {
                try scanStaged(runner, prefix: prefix)
                return
            }
            try scanWorkTree(runner, prefix: prefix, trackedOnly: trackedOnly)
        } catch {
            fail(error.message)
        }
    }

    private func scanStaged(_ runner: GitRunner, prefix: String?) throws(KeywayError) {
        let root = runner.root
        let staged = try runner.stagedFiles().filter { under($0, prefix) }
        guard !staged.isEmpty else { return }
        var oids: [String: (mode: String, oid: String)] = [:]
        for entry in try runner.indexEntries() { oids[entry.path] = (entry.mode, entry.oid) }
        var toRead: [(path: String, oid: String)] = []
        for path in staged {
            let absolute = root + "/" + path
            if isCredentialsFileName(ProtectedFile.baseName(path)) {
                addCredentialsFileFinding(absolute, repository: root, state: .staged)
            }
            if let entry = oids[path], entry.mode.hasPrefix("100") { toRead.append((path, entry.oid)) }
        }
        let batch = try CatFileBatch(runner)
        defer { batch.finish() }
        try batch.read(toRead.map(\.oid)) { index, bytes throws(KeywayError) in
            guard let bytes else { return }
            report.blobsScanned += 1
            scanContent(bytes, path: root + "/" + toRead[index].path, repository: root, git: .staged, commit: nil)
        }
    }

    private func scanWorkTree(_ runner: GitRunner, prefix: String?, trackedOnly: Bool) throws(KeywayError) {
        let root = runner.root
        let entries = try runner.indexEntries()
        let hasHead = (try? runner.run(["rev-parse", "--verify", "--quiet", "HEAD"])) != nil
        let added = Set(
            hasHead
                ? try runner.paths(["diff", "--cached", "--name-only", "-z", "--diff-filter=A", "--no-renames",
                                    "--no-ext-diff"])
                : entries.map(\.path))
        var tracked = Set<String>()
        var submodules: [String] = []
        var files: [(path: String, state: Finding.GitStatus)] = []
        for entry in entries where under(entry.path, prefix) {
            if entry.mode == "160000" {
                submodules.append(entry.path)
                continue
            }
            guard tracked.insert(entry.path).inserted else { continue }  // merge conflicts: several stages
            files.append((entry.path, added.contains(entry.path) ? .staged : .tracked))
        }
        var nested: [String] = []
        if !trackedOnly {
            for path in try runner.untrackedFiles() where under(path, prefix) {
                if path.hasSuffix("/") { nested.append(String(path.dropLast())) } else { files.append((path, .untracked)) }
            }
        }
        for (path, state) in files {
            let absolute = root + "/" + path
            if isCredentialsFileName(ProtectedFile.baseName(path)) {
                addCredentialsFileFinding(absolute, repository: root, state: state)
                checkPermissions(absolute, repository: root, git: state)
            }
            guard let bytes = readRegularFile(absolute) else { continue }
            scanContent(bytes, path: absolute, repository: root, git: state, commit: nil)
        }
        if !trackedOnly {
            for path in try runner.ignoredFiles() where !path.hasSuffix("/") && under(path, prefix) {
                guard isCredentialsFileName(ProtectedFile.baseName(path)) else { continue }
                let absolute = root + "/" + path
                addCredentialsFileFinding(absolute, repository: root, state: .ignored)
                checkPermissions(absolute, repository: root, git: .ignored)
            }
        }
        if options.history { try scanHistory(runner, prefix: prefix, tracked: tracked) }
        for path in submodules + nested where (try? Sys.lstat(root + "/" + path + "/.git")) != nil {
            scanRepository(root + "/" + path, prefix: nil)
        }
    }

    /// The history to scan. A shallow repository (`git clone --depth`, or a `shallow` file put there to cut
    /// history off) is read past its boundary when git can: whatever commits are on this machine are scanned, and a
    /// note says the boundary was crossed. When git cannot (the commits beyond are not here, as in a real shallow
    /// clone), the shallow history is scanned and a note says that history beyond the boundary was not.
    private func history(_ runner: GitRunner) throws(KeywayError) -> (entries: [GitRunner.HistoryEntry], commits: Int) {
        guard try runner.isShallow() else { return try runner.history() }
        do {
            let whole = try runner.history(ignoringShallow: true)
            report.notes.append(
                "\(runner.root) is a shallow repository, but the commits its shallow file cuts off are present: "
                    + "they were scanned too.")
            return whole
        } catch {
            if error.code == .gitTimedOut { throw error }
        }
        let shallow = try runner.history()
        report.notes.append(
            "\(runner.root) is a shallow repository (cloned with --depth, or given a shallow file): history beyond "
                + "its shallow boundary is not on this machine and was not scanned. Scan a full clone "
                + "(git fetch --unshallow) to cover it.")
        return shallow
    }

    private func scanHistory(_ runner: GitRunner, prefix: String?, tracked: Set<String>) throws(KeywayError) {
        let root = runner.root
        let (entries, commits) = try history(runner)
        report.commitsScanned += commits
        var firstByBlob: [String: GitRunner.HistoryEntry] = [:]
        var order: [GitRunner.HistoryEntry] = []
        var reportedPaths = Set<String>()
        for entry in entries where under(entry.path, prefix) {
            if isCredentialsFileName(ProtectedFile.baseName(entry.path)), !tracked.contains(entry.path),
                reportedPaths.insert(entry.path).inserted
            {
                let absolute = root + "/" + entry.path
                add(
                    Finding(
                        kind: .credentialsFile, rule: FileRules.history, severity: .error, path: absolute,
                        repository: root, git: .history, commit: entry.commit,
                        message: "The credentials file \(entry.path) was committed in \(entry.commit.prefix(12)) of "
                            + "\(root), though git no longer tracks it: whatever it held is in the history.",
                        fix: "Rotate every key it held. Rewriting history (git filter-repo) does not un-leak a key "
                            + "that was pushed or cloned."))
            }
            guard entry.mode.hasPrefix("100"), firstByBlob[entry.oid] == nil else { continue }
            firstByBlob[entry.oid] = entry
            order.append(entry)
        }
        let batch = try CatFileBatch(runner)
        defer { batch.finish() }
        try batch.read(order.map(\.oid)) { index, bytes throws(KeywayError) in
            guard let bytes else { return }
            report.blobsScanned += 1
            let entry = order[index]
            scanContent(bytes, path: root + "/" + entry.path, repository: root, git: .history, commit: entry.commit)
        }
    }

    // MARK: Findings

    func addCredentialsFileFinding(_ path: String, repository root: String, state: Finding.GitStatus) {
        let relative = Finding.relative(path, to: root)
        let ignoreLine = Git.gitignoreLine(relative)
        let gitignore = root + "/.gitignore"
        let quotedRoot = ProtectedFile.shellQuoted(root), quotedPath = ProtectedFile.shellQuoted(relative)
        switch state {
        case .tracked:
            add(
                Finding(
                    kind: .credentialsFile, rule: FileRules.tracked, severity: .error, path: path, repository: root,
                    git: .tracked, message: "The credentials file \(relative) is TRACKED by git in \(root).",
                    fix: "git -C \(quotedRoot) rm --cached -- \(quotedPath); add the line \(ignoreLine) to "
                        + "\(gitignore); if it was ever pushed, rotate every key it held."))
        case .staged:
            add(
                Finding(
                    kind: .credentialsFile, rule: FileRules.staged, severity: .error, path: path, repository: root,
                    git: .staged, message: "The credentials file \(relative) is staged for the next commit in \(root).",
                    fix: "git -C \(quotedRoot) rm --cached -- \(quotedPath); add the line \(ignoreLine) to "
                        + "\(gitignore)."))
        case .untracked:
            add(
                Finding(
                    kind: .credentialsFile, rule: FileRules.untracked, severity: .warning, path: path,
                    repository: root, git: .untracked,
                    message: "The credentials file \(relative) is in \(root), which would pick it up (git does not "
                        + "ignore it).", fix: "Add the line \(ignoreLine) to \(gitignore)."))
        case .ignored:
            add(
                Finding(
                    kind: .credentialsFile, rule: FileRules.ignored, severity: .info, path: path, repository: root,
                    git: .ignored, message: "The credentials file \(relative) is in \(root), which ignores it.",
                    fix: "Nothing to do."))
        case .history:
            break
        }
    }

    func checkPermissions(_ path: String, repository: String?, git: Finding.GitStatus?) {
        guard let st = try? Sys.statFollowingLinks(path), FileMode.isRegular(st) else { return }
        let mode = st.st_mode & 0o777
        if mode & 0o077 != 0 {
            var who: [String] = []
            if mode & 0o070 != 0 { who.append("group") }
            if mode & 0o007 != 0 { who.append("others") }
            add(
                Finding(
                    kind: .permissions, rule: FileRules.permissions, severity: .warning, path: path,
                    repository: repository, git: git,
                    message: "\(path) holds credentials and has mode \(FileMode.octal(mode)): "
                        + "\(who.joined(separator: " and ")) can access it.",
                    fix: "chmod 600 \(ProtectedFile.shellQuoted(path))"))
        }
        if st.st_uid != Sys.effectiveUserID {
            add(
                Finding(
                    kind: .permissions, rule: FileRules.owner, severity: .warning, path: path, repository: repository,
                    git: git, message: "\(path) holds credentials and is owned by uid \(st.st_uid), not by you "
                        + "(uid \(Sys.effectiveUserID)).",
                    fix: "Check who wrote it; take it over (chown) or remove it."))
        }
    }

    func scanContent(
        _ bytes: [UInt8], path: String, repository: String?, git: Finding.GitStatus?, commit: String?
    ) {
        if commit == nil { report.filesScanned += 1 }
        report.bytesScanned += bytes.count
        guard !ContentScanner.isBinary(bytes) else { return }
        for match in scanner.scan(bytes) {
            if match.allowed {
                report.allowed += 1
                continue
            }
            let severity: Finding.Severity = (git == nil || git == .untracked) ? .warning : .error
            let relative = Finding.relative(path, to: repository)
            let whereText: String
            let fix: String
            switch git {
            case .tracked?:
                whereText = "tracked by git in \(repository ?? "")"
                fix = "Remove the key from the file and rotate it: it is in the repository's history. Keep the "
                    + "replacement in Keyway and pass it at run time (keyway run APP -- CMD)."
            case .staged?:
                whereText = "staged for the next commit in \(repository ?? "")"
                fix = "Remove the key from the file and restage it (git add), or unstage the file; keep the key in "
                    + "Keyway (keyway login APP) and pass it at run time (keyway run APP -- CMD)."
            case .untracked?:
                whereText = "not yet tracked by git in \(repository ?? ""), which would pick it up"
                fix = "Remove the key from the file (keep it in Keyway: keyway login APP) or ignore the file."
            case .history?:
                whereText = "in commit \(commit?.prefix(12) ?? "") of \(repository ?? "")"
                fix = "Rotate the key: it is in the repository's history even though the current files no longer "
                    + "hold it."
            case .ignored?, nil:
                whereText = "outside any git repository"
                fix = "Move the key into Keyway (keyway login APP) and delete it from the file."
            }
            let finding = Finding(
                    kind: .secret, rule: match.rule.id, severity: severity, path: path, repository: repository,
                    git: git, line: match.line, commit: commit, masked: match.masked,
                    message: "\(match.rule.name) \(match.masked) at \(relative):\(match.line), \(whereText).",
                    fix: fix, secret: match.secret)
            if git == .history {
                // One finding per key and path: the oldest commit that holds it, and none when the current files
                // still hold it (that finding says more).
                guard !currentKeys.contains(finding.fingerprint), historyKeys.insert(finding.fingerprint).inserted
                else { continue }
            } else {
                currentKeys.insert(finding.fingerprint)
            }
            add(finding)
        }
    }
}
