import KeywayCore

import Glibc

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
    /// Files and blobs larger than this many bytes are not read (a note lists them): memory stays bounded by it
    /// whatever a repository holds.
    public var maximumFileSize: Int = LeakCheckOptions.defaultMaximumFileSize

    /// 64 MiB.
    public static let defaultMaximumFileSize = 64 << 20

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
    private var scannedRepositories = Set<String>()
    private var seen = Set<String>()
    private let credentialNames: Set<String>
    private let gitEnvironment: Environment
    /// Fingerprints of keys the committed files hold: history reports only keys they do not hold.
    private var currentKeys = Set<String>()
    private var historyKeys = Set<String>()
    /// Files and blobs not read because they are larger than the limit, with their size.
    private var oversized: [(path: String, size: Int)] = []
    /// Paths not read because a directory on the way is a symbolic link.
    private var behindLinks: [String] = []
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

    func fail(_ message: String) { report.errors.append(message) }

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
        auditKeywayDirectories()
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
            checkPermissions(tst, path: target, repository: repository?.root, git: state)
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

    /// One PATH the user named. A symbolic link the user names (the PATH itself, or a directory on its way) is the
    /// user's choice: its target is scanned as the root, and a note says so. Links beneath that root are never
    /// followed. A PATH that is neither a directory nor a regular file (a FIFO, a device, a link to nothing) is an
    /// error: nothing named is skipped silently.
    func scanPath(_ typed: String) {
        var path = typed
        if let st = try? Sys.lstat(path) {
            let real = try? Sys.realpath(path)
            if real == nil, FileMode.isSymlink(st) {
                fail("\(path) is a symbolic link whose target does not exist or cannot be read: nothing was scanned.")
                return
            }
        }
        if let real = try? Sys.realpath(path), real != path {
            report.notes.append(
                "\(path) is, or goes through, a symbolic link: its target \(real) was scanned (leak-check follows "
                    + "the links a PATH names, none beneath it).")
            path = real
        }
        guard let st = try? Sys.lstat(path) else {
            fail("\(path) does not exist or cannot be read.")
            return
        }
        guard FileMode.isDirectory(st) || FileMode.isRegular(st) else {
            fail("\(path) is not a directory or a regular file (a FIFO, socket or device): it was not scanned.")
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
        scanWithoutGit(path, status: st)
    }

    /// A directory or file scanned as files outside any repository (repositories found beneath a directory are
    /// scanned as repositories). With `skippingGit`, the directory's own `.git` is left out.
    func scanWithoutGit(_ path: String, status st: FileStatus, skippingGit: Bool = false) {
        if FileMode.isDirectory(st) {
            do throws(Errno) {
                walk(try Sys.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY), path, skippingGit: skippingGit)
            } catch {
                fail("Cannot read the directory \(path): \(error).")
            }
        } else if FileMode.isRegular(st) {
            do throws(Errno) {
                let parent = try Sys.open(ProtectedFile.directoryName(path), O_RDONLY | O_DIRECTORY | O_NOCTTY)
                defer { Sys.close(parent) }
                scanLooseFile(in: parent, ProtectedFile.baseName(path), path: path, status: st)
            } catch {
                fail("Cannot read \(path): \(error).")
            }
        }
    }

    /// A directory that belongs to no repository (`fd`, which this closes): its files are scanned; each
    /// repository found under it is scanned as a repository. Every entry is opened relative to its directory with
    /// `O_NOFOLLOW`: a symbolic link is never followed.
    func walk(_ fd: Int32, _ directory: String, skippingGit: Bool = false) {
        guard let dir = fdopendir(fd) else {
            fail("Cannot read the directory \(directory): \(Errno.current).")
            Sys.close(fd)
            return
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." && !(skippingGit && name == ".git") { names.append(name) }
        }
        let parent = dirfd(dir)
        for name in names.sorted() {
            let path = directory == "/" ? "/" + name : directory + "/" + name
            guard let st = try? Sys.lstat(name, in: parent) else { continue }
            if FileMode.isDirectory(st) {
                let child: Int32
                do throws(Errno) {
                    child = try Sys.openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY)
                } catch {
                    if error != .loop && error != .noEntry && error != .notDirectory {
                        fail("Cannot read the directory \(path): \(error).")
                    }
                    continue
                }
                if (try? Sys.lstat(".git", in: child)) != nil {
                    Sys.close(child)
                    scanRepository(path, prefix: nil)
                } else {
                    walk(child, path)
                }
            } else if FileMode.isRegular(st) {
                scanLooseFile(in: parent, name, path: path, status: st)
            }
        }
    }

    /// A file outside any repository: `name` in the directory `parent`, whose `lstat` is `status`.
    func scanLooseFile(in parent: Int32, _ name: String, path: String, status: FileStatus) {
        if isCredentialsFileName(name) {
            checkPermissions(status, path: path, repository: nil, git: nil)
        }
        guard let bytes = readRegularFile(in: parent, name, path: path, status: status) else { return }
        scanContent(bytes, path: path, repository: nil, git: nil, commit: nil)
    }

    /// What `relative` is beneath the directory `reader` opens, examined without following a symbolic link in any
    /// component. Nil when it does not exist (a tracked file deleted from the working tree), when a directory on
    /// the way is a symbolic link (listed in a note), or when it cannot be examined (an error).
    func examine(_ reader: BeneathReader, _ relative: String, path: String) -> BeneathReader.Entry? {
        do throws(Errno) {
            return try reader.entry(relative)
        } catch {
            if error == .loop {
                behindLinks.append(path)
            } else if error != .noEntry && error != .notDirectory {
                fail("Cannot read \(path): \(error).")
            }
            return nil
        }
    }

    /// The bytes of a regular file, `name` in the directory `parent` (never a FIFO, device or symbolic link, and
    /// never more than the size limit: a larger file is listed in a note and not read; of a binary file, only the
    /// first bytes that show it is binary); nil with an error recorded when it cannot be read, nil silently when it
    /// is not a regular file.
    func readRegularFile(in parent: Int32, _ name: String, path: String, status: FileStatus) -> [UInt8]? {
        guard FileMode.isRegular(status) else { return nil }
        guard Int(status.st_size) <= options.maximumFileSize else {
            oversized.append((path, Int(status.st_size)))
            return nil
        }
        let fd: Int32
        do throws(Errno) {
            fd = try Sys.openat(parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        } catch {
            if error == .loop || error == .noEntry { return nil }
            fail("Cannot read \(path): \(error).")
            return nil
        }
        defer { Sys.close(fd) }
        guard let st = try? Sys.fstat(fd), FileMode.isRegular(st) else { return nil }
        do throws(Errno) {
            // Binary is decided from the first bytes: a binary file is not read further.
            let head = try Sys.pread(fd, count: ContentScanner.binaryCheckLength, offset: 0)
            if ContentScanner.isBinary(head) { return head }
            guard let bytes = try Sys.readAll(fd, limit: options.maximumFileSize) else {
                oversized.append((path, max(Int(st.st_size), options.maximumFileSize + 1)))
                return nil
            }
            return bytes
        } catch {
            fail("Cannot read \(path): \(error).")
            return nil
        }
    }

    /// Reads blobs through git cat-file: their sizes first (`--batch-check`), then the contents of those within the
    /// size limit (`--batch`); larger ones are listed in a note (by `label`) and never read. Of a binary blob only
    /// the first bytes are kept, enough for `scanContent` to see it is binary.
    func readBlobs(
        _ runner: GitRunner, _ items: [(oid: String, label: String)],
        _ body: (Int, [UInt8]) throws(KeywayError) -> Void
    ) throws(KeywayError) {
        guard !items.isEmpty else { return }
        let check = try CatFileBatch(runner, checkOnly: true)
        let sizes: [(type: String, size: Int)?]
        do throws(KeywayError) {
            sizes = try check.info(items.map(\.oid))
        } catch {
            check.finish()
            throw error
        }
        check.finish()
        var wanted: [Int] = []
        for (index, info) in sizes.enumerated() {
            guard let info, info.type == "blob" else { continue }
            if info.size > options.maximumFileSize {
                oversized.append((items[index].label, info.size))
            } else {
                wanted.append(index)
            }
        }
        guard !wanted.isEmpty else { return }
        let batch = try CatFileBatch(runner)
        defer { batch.finish() }
        try batch.read(wanted.map { items[$0].oid }, maximumSize: options.maximumFileSize, skippingBinary: true) {
            position, bytes throws(KeywayError) in
            guard let bytes else { return }
            try body(wanted[position], bytes)
        }
    }

    static func sizeText(_ bytes: Int) -> String {
        if bytes >= 1 << 30 {
            let tenths = (bytes * 10) >> 30
            return "\(tenths / 10).\(tenths % 10) GiB"
        }
        if bytes >= 1 << 20 { return "\(bytes >> 20) MiB" }
        return "\(bytes) bytes"
    }

    /// At most 20 items, then how many more.
    static func list(_ items: [String]) -> String {
        items.count <= 20 ? items.joined(separator: ", ")
            : items.prefix(20).joined(separator: ", ") + " and \(items.count - 20) more"
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
        let runner = GitRunner(root: root, keepIndexFile: currentRepository == root, timeout: gitTimeout)
        if let st = try? Sys.lstat(root), st.st_uid != Sys.effectiveUserID {
            report.notes.append(
                "\(root) belongs to uid \(st.st_uid), not to you: it was read with git's hooks, filters, fsmonitor "
                    + "and external commands disabled.")
        }
        do throws(KeywayError) {
            if let workTree = try foreignWorkTree(runner) {
                scanElsewhereRepository(root, prefix: prefix, workTree: workTree, trackedOnly: trackedOnly)
                return
            }
        } catch {
            fail(error.message)
            return
        }
        scannedRepositories.insert(root)
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

    /// Git's work tree for the repository at `runner.root` when it is another directory: `core.worktree`, or a
    /// `.git` file naming another repository's git directory (which may have one). Nil when it is the root itself.
    private func foreignWorkTree(_ runner: GitRunner) throws(KeywayError) -> String? {
        var top = String(decoding: try runner.run(["rev-parse", "--show-toplevel"]), as: UTF8.self)
        if top.hasSuffix("\n") { top.removeLast() }
        let real = (try? Sys.realpath(top)) ?? top
        return real == ((try? Sys.realpath(runner.root)) ?? runner.root) ? nil : real
    }

    /// A directory holding a `.git` whose work tree, to git, is `workTree`: git's index and status describe other
    /// files than those under it. Its files (under `prefix`) are scanned as files outside any repository and a note
    /// says the repository itself was not; with `--staged` (git's view is all there is) it is an error.
    private func scanElsewhereRepository(_ root: String, prefix: String?, workTree: String, trackedOnly: Bool) {
        let why = "git's work tree for the repository at \(root) is \(workTree), not \(root) (core.worktree, or a "
            + ".git file naming another repository's git directory)"
        if options.staged {
            fail("\(root): \(why). Its staged changes were not scanned; run the check in \(workTree).")
            return
        }
        let path = prefix.map { root + "/" + $0 } ?? root
        guard !trackedOnly, let st = try? Sys.lstat(path) else {
            report.notScanned.append("Not scanned: \(path), since \(why).")
            return
        }
        report.notScanned.append(
            "Not scanned as a repository: \(why). The files under \(path) were scanned as files outside any "
                + "repository; the repository's index and history were not (name \(workTree) to scan them).")
        scanWithoutGit(path, status: st, skippingGit: prefix == nil)
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
        try readBlobs(runner, toRead.map { ($0.oid, root + "/" + $0.path + " (staged)") }) {
            index, bytes throws(KeywayError) in
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
        var indexOids: [String: String] = [:]
        var submodules: [String] = []
        var files: [(path: String, state: Finding.GitStatus)] = []
        for entry in entries where under(entry.path, prefix) {
            if entry.mode == "160000" {
                submodules.append(entry.path)
                continue
            }
            guard tracked.insert(entry.path).inserted else { continue }  // merge conflicts: several stages
            indexOids[entry.path] = entry.oid
            files.append((entry.path, added.contains(entry.path) ? .staged : .tracked))
        }
        var nested: [String] = []
        if !trackedOnly {
            for path in try runner.untrackedFiles() where under(path, prefix) {
                if path.hasSuffix("/") { nested.append(String(path.dropLast())) } else { files.append((path, .untracked)) }
            }
        }
        let reader = BeneathReader(root: root)
        let committed = CommittedVersions(runner: runner, indexOids: indexOids, checker: self)
        defer { committed.finish() }
        for (path, state) in files {
            let absolute = root + "/" + path
            let credentials = isCredentialsFileName(ProtectedFile.baseName(path))
            if credentials { addCredentialsFileFinding(absolute, repository: root, state: state) }
            guard let entry = examine(reader, path, path: absolute) else { continue }
            if credentials { checkPermissions(entry.status, path: absolute, repository: root, git: state) }
            guard let bytes = readRegularFile(in: entry.parent, entry.name, path: absolute, status: entry.status)
            else { continue }
            scanContent(
                bytes, path: absolute, repository: root, git: state, commit: nil,
                committed: state == .tracked ? committed : nil)
        }
        if !trackedOnly {
            for path in try runner.ignoredFiles() where !path.hasSuffix("/") && under(path, prefix) {
                guard isCredentialsFileName(ProtectedFile.baseName(path)) else { continue }
                let absolute = root + "/" + path
                addCredentialsFileFinding(absolute, repository: root, state: .ignored)
                guard let entry = examine(reader, path, path: absolute) else { continue }
                checkPermissions(entry.status, path: absolute, repository: root, git: .ignored)
            }
        }
        committed.finish()
        if options.history { try scanHistory(runner, prefix: prefix, tracked: tracked) }
        // A nested repository is entered only when no directory on the way is a symbolic link.
        for path in submodules + nested where reader.isRepository(path) {
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
        report.notScanned.append(
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
        try readBlobs(runner, order.map { ($0.oid, root + "/" + $0.path + " @ " + $0.commit.prefix(12)) }) {
            index, bytes throws(KeywayError) in
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

    /// A directory leading to Keyway's files that another user owns or that group or others can write.
    func auditKeywayDirectories() {
        let home = options.environment.home
        var seen = Set<String>()
        let problems = options.keywayDirectories.flatMap { DirectoryChain.problems(for: $0, home: home) }
            + options.keywayFiles.flatMap { DirectoryChain.problems(forFile: $0, home: home) }
        for problem in problems where seen.insert(problem.path + "\0" + "\(problem.kind)").inserted {
            let rule: String
            switch problem.kind {
            case .foreignOwner: rule = FileRules.directoryOwner
            case .writable: rule = FileRules.directoryPermissions
            }
            add(
                Finding(
                    kind: .permissions, rule: rule, severity: .warning, path: problem.path, repository: nil,
                    git: nil, message: problem.message, fix: problem.fix))
        }
    }

    /// Permission and owner findings for a credentials file whose status (`lstat`, or `stat` of a machine-audit
    /// file's resolved target) is `st`; nothing for anything but a regular file.
    func checkPermissions(_ st: FileStatus, path: String, repository: String?, git: Finding.GitStatus?) {
        guard FileMode.isRegular(st) else { return }
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

    /// Keys in `bytes`. For a tracked file (`git == .tracked`), `committed` tells whether a key is in the
    /// committed version, only staged, or only in the working tree (an uncommitted edit).
    func scanContent(
        _ bytes: [UInt8], path: String, repository: String?, git: Finding.GitStatus?, commit: String?,
        committed: CommittedVersions? = nil
    ) {
        if commit == nil { report.filesScanned += 1 }
        report.bytesScanned += bytes.count
        guard !ContentScanner.isBinary(bytes) else { return }
        let relative = Finding.relative(path, to: repository)
        for match in scanner.scan(bytes) {
            if match.allowed {
                report.allowed += 1
                continue
            }
            let severity: Finding.Severity = (git == nil || git == .untracked) ? .warning : .error
            // The app the key belongs to, when the rule knows it: the commands name it.
            let app = match.rule.app.map(ProtectedFile.shellQuoted) ?? "APP"
            let login = "keyway login \(app)", run = "keyway run \(app) -- CMD"
            let whereText: String
            let fix: String
            // Whether the key is in the committed files: then history findings of it would say less.
            var committedNow = false
            switch git {
            case .tracked?:
                switch committed?.place(of: match.secret, in: relative) ?? .committed {
                case .committed:
                    committedNow = true
                    whereText = "tracked by git in \(repository ?? "")"
                    fix = "Remove the key from the file and rotate it: it is in the repository's history. Keep the "
                        + "replacement in Keyway (\(login)) and pass it at run time (\(run))."
                case .staged:
                    whereText = "in a change to a tracked file, staged for the next commit in \(repository ?? "")"
                    fix = "Remove the key from the file and restage it (git add), or unstage the change; keep the key "
                        + "in Keyway (\(login)) and pass it at run time (\(run))."
                case .workingTree:
                    whereText = "in an uncommitted change to a file tracked by git in \(repository ?? "")"
                    fix = "Remove the key from the file before committing (git commit -a would take it); keep it in "
                        + "Keyway (\(login)) and pass it at run time (\(run))."
                }
            case .staged?:
                whereText = "staged for the next commit in \(repository ?? "")"
                fix = "Remove the key from the file and restage it (git add), or unstage the file; keep the key in "
                    + "Keyway (\(login)) and pass it at run time (\(run))."
            case .untracked?:
                whereText = "not yet tracked by git in \(repository ?? ""), which would pick it up"
                fix = "Remove the key from the file (keep it in Keyway: \(login)) or ignore the file."
            case .history?:
                whereText = "in commit \(commit?.prefix(12) ?? "") of \(repository ?? "")"
                fix = "Rotate the key: it is in the repository's history even though the current files no longer "
                    + "hold it."
            case .ignored?, nil:
                whereText = "outside any git repository"
                fix = "Move the key into Keyway (\(login)) and delete it from the file."
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
            } else if committedNow {
                // A key only in an uncommitted, staged or untracked file does not say whether an older commit held
                // it: the history still reports that commit.
                currentKeys.insert(finding.fingerprint)
            }
            add(finding)
        }
    }

    /// The keys the committed (HEAD) and staged (index) versions of a repository's tracked files hold, read on
    /// demand: only for a tracked file whose working-tree copy holds a key.
    final class CommittedVersions {
        enum Place { case committed, staged, workingTree }

        private let runner: GitRunner
        private let indexOids: [String: String]
        private unowned let checker: LeakChecker
        private var headOids: [String: String]?
        private var batch: CatFileBatch?
        private var cache: [String: (head: [Secret]?, index: [Secret]?)] = [:]
        private var failed = false

        init(runner: GitRunner, indexOids: [String: String], checker: LeakChecker) {
            self.runner = runner
            self.indexOids = indexOids
            self.checker = checker
        }

        /// Where the key `secret` found in the working-tree copy of `path` (relative) is. When git cannot tell (an
        /// error, which is reported, or a version too large to read), `.committed`: the cautious answer.
        func place(of secret: Secret, in path: String) -> Place {
            guard !failed else { return .committed }
            do throws(KeywayError) {
                let versions = try self.versions(path)
                guard let head = versions.head else { return .committed }
                if head.contains(secret) { return .committed }
                if versions.index?.contains(secret) == true { return .staged }
                return .workingTree
            } catch {
                failed = true
                checker.fail(error.message)
                return .committed
            }
        }

        private func versions(_ path: String) throws(KeywayError) -> (head: [Secret]?, index: [Secret]?) {
            if let known = cache[path] { return known }
            if headOids == nil {
                var oids: [String: String] = [:]
                // "<mode> <type> <oid>\t<path>"
                for entry in try runner.paths(["ls-tree", "-r", "-z", "--full-tree", "HEAD"]) {
                    guard let tab = entry.firstIndex(of: "\t") else { continue }
                    let fields = entry[..<tab].split(separator: " ")
                    guard fields.count == 3, fields[1] == "blob" else { continue }
                    oids[String(entry[entry.index(after: tab)...])] = String(fields[2])
                }
                headOids = oids
            }
            let headOid = headOids?[path]
            let indexOid = indexOids[path]
            let head = try headOid.map { oid throws(KeywayError) in try keys(oid) } ?? nil
            let index = indexOid == headOid ? head : try indexOid.map { oid throws(KeywayError) in try keys(oid) } ?? nil
            cache[path] = (head, index)
            return (head, index)
        }

        /// The keys a blob holds; nil when it cannot be read (missing, larger than the limit).
        private func keys(_ oid: String) throws(KeywayError) -> [Secret]? {
            if batch == nil { batch = try CatFileBatch(runner) }
            var found: [Secret]?
            try batch!.read([oid], maximumSize: checker.options.maximumFileSize) { _, bytes throws(KeywayError) in
                if let bytes { found = checker.scanner.scan(bytes).map(\.secret) }
            }
            return found
        }

        func finish() {
            batch?.finish()
            batch = nil
        }
    }
}

/// Examines files beneath one directory without following a symbolic link in any component of their path: each
/// directory on the way is opened with `O_DIRECTORY | O_NOFOLLOW` (`Sys.openDirectory(_:beneath:)`) and the file is
/// examined with `fstatat(AT_SYMLINK_NOFOLLOW)` and opened with `openat(O_NOFOLLOW)` relative to its directory. The
/// last directory stays open, since git lists files directory by directory.
final class BeneathReader {
    struct Entry {
        /// The directory holding the entry; valid until the next call of `entry`.
        let parent: Int32
        let name: String
        /// `lstat` of the entry: a symbolic link shows as one.
        let status: FileStatus
    }

    let root: String
    private var parentPath: Substring?
    private var parentFD: Int32 = -1

    init(root: String) { self.root = root }

    deinit { if parentFD >= 0 { Sys.close(parentFD) } }

    /// `relative` (slash-separated, as git lists it). Throws `ELOOP` when a directory on the way is a symbolic link,
    /// `ENOENT` when the entry or a directory on the way does not exist, `ENOTDIR` when one is not a directory.
    func entry(_ relative: String) throws(Errno) -> Entry {
        let slash = relative.lastIndex(of: "/")
        let directory = slash.map { relative[..<$0] } ?? ""
        let name = String(slash.map { relative[relative.index(after: $0)...] } ?? relative[...])
        guard !name.isEmpty, name != ".", name != ".." else { throw Errno(EINVAL) }
        if parentPath != directory {
            if parentFD >= 0 { Sys.close(parentFD) }
            parentFD = -1
            parentPath = nil
            parentFD = try Sys.openDirectory(
                directory.isEmpty ? [] : directory.split(separator: "/", omittingEmptySubsequences: false),
                beneath: root)
            parentPath = directory
        }
        guard let st = try Sys.lstat(name, in: parentFD) else { throw Errno.noEntry }
        return Entry(parent: parentFD, name: name, status: st)
    }

    /// Whether `relative` is a directory reached without a symbolic link that holds a `.git` entry (a nested
    /// repository, a submodule's checkout).
    func isRepository(_ relative: String) -> Bool {
        guard let fd = try? Sys.openDirectory(relative.split(separator: "/", omittingEmptySubsequences: false),
                                              beneath: root)
        else { return false }
        defer { Sys.close(fd) }
        return (try? Sys.lstat(".git", in: fd)) != nil
    }
}
