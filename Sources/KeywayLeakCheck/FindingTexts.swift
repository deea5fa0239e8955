import Glibc
import KeywayCore

/// The findings added, with their texts: what was found, why it matters and the fix.
extension LeakChecker {
    func addCredentialsFileFinding(_ path: String, repository root: String, state: Finding.GitStatus) {
        let relative = Finding.relative(path, to: root)
        let ignoreLine = Git.gitignoreLine(relative)
        let gitignore = root + "/.gitignore"
        let quotedRoot = FileNames.shellWord(root), quotedPath = FileNames.shellWord(relative)
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
        let problems =
            options.keywayDirectories.flatMap { DirectoryChain.problems(for: $0, home: home) }
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
                    fix: "chmod 600 \(FileNames.shellWord(path))"))
        }
        if st.st_uid != Sys.effectiveUserID {
            add(
                Finding(
                    kind: .permissions, rule: FileRules.owner, severity: .warning, path: path, repository: repository,
                    git: git,
                    message: "\(path) holds credentials and is owned by uid \(st.st_uid), not by you "
                        + "(uid \(Sys.effectiveUserID)).",
                    fix: "Check who wrote it; take it over (chown) or remove it."))
        }
    }

    /// Keys in `bytes`. For a tracked file (`git == .tracked`), `committed` tells whether a key is in the
    /// committed version, only staged, or only in the working tree (an uncommitted edit).
    ///
    /// The scan itself is queued: files and blobs are scanned in batches (at most `batchFiles` of them or
    /// `batchBytes` bytes) on `options.threads` threads of their own while the next batch is read, so memory stays
    /// bounded by two batches and the file size limit; findings are recorded in the order the files were queued, so
    /// that the report is the one a scan on one thread gives. `flushScans` scans what is queued and records it.
    func scanContent(
        _ bytes: [UInt8], path: String, repository: String?, git: Finding.GitStatus?, commit: String?,
        committed: CommittedVersions? = nil
    ) {
        if commit == nil { report.filesScanned += 1 }
        report.bytesScanned += bytes.count
        noteProgress()
        guard !ContentScanner.isBinary(bytes) else { return }
        queued.append(
            QueuedScan(
                bytes: bytes, path: path, repository: repository, git: git, commit: commit, committed: committed))
        queuedBytes += bytes.count
        if queued.count >= Self.batchFiles || queuedBytes >= Self.batchBytes { startBatch() }
    }

    /// Files or blobs a batch holds at most.
    static let batchFiles = 128
    /// Bytes a batch holds at most (one file more may take it past that).
    static let batchBytes = 2 << 20

    /// Scans what is queued and records every finding so far. Called before anything that depends on the findings
    /// (history, which leaves out keys the current files hold; the end of a repository's scan, whose committed
    /// versions are then closed; the end of the run).
    func flushScans() {
        startBatch()
        finishBatch()
    }

    /// Records the batch being scanned, if any, then starts scanning the queued files.
    private func startBatch() {
        finishBatch()
        guard !queued.isEmpty else { return }
        let batch = queued
        let bytes = queuedBytes
        queued = []
        queuedBytes = 0
        let scanner = self.scanner
        // A small batch costs less to scan here than to hand to threads.
        guard bytes >= Self.threadedBytes else {
            for item in batch { record(scanner.scan(item.bytes), item) }
            return
        }
        scanning = (batch, Parallel.start(batch.map(\.bytes), threads: options.threads) { scanner.scan($0) })
    }

    /// A batch smaller than this is scanned on the calling thread.
    static let threadedBytes = 256 << 10

    /// Waits for the batch being scanned and records its findings in order.
    private func finishBatch() {
        guard let (batch, running) = scanning else { return }
        scanning = nil
        for (item, matches) in zip(batch, running.wait()) { record(matches, item) }
    }

    private func record(_ matches: [ContentMatch], _ item: QueuedScan) {
        let (path, repository, git, commit, committed) = (
            item.path, item.repository, item.git, item.commit, item.committed
        )
        let relative = Finding.relative(path, to: repository)
        for match in matches {
            if match.allowed {
                report.allowed += 1
                continue
            }
            // A rule's own severity (a test key, a JWT) caps the finding's.
            let severity = max(
                (git == nil || git == .untracked) ? Finding.Severity.warning : .error, match.rule.severity)
            // The app the key belongs to, when the rule knows it: the commands name it.
            let app = match.rule.app.map(ProtectedFile.shellQuoted) ?? "APP"
            let login = "keyway login \(app)", run = "keyway run \(app) -- CMD"
            let whereText: String
            let fix: String
            // Whether the key is in the committed files: then history findings of it would say less.
            var committedNow = false
            switch git {
            case .tracked?:
                switch committed?.place(of: match.secret, in: relative, bytes: item.bytes) ?? .committed {
                case .committed:
                    committedNow = true
                    whereText = "tracked by git in \(repository ?? "")"
                    fix =
                        "Remove the key from the file and rotate it: it is in the repository's history. Keep the "
                        + "replacement in Keyway (\(login)) and pass it at run time (\(run))."
                case .staged:
                    whereText = "in a change to a tracked file, staged for the next commit in \(repository ?? "")"
                    fix =
                        "Remove the key from the file and restage it (git add), or unstage the change; keep the key "
                        + "in Keyway (\(login)) and pass it at run time (\(run))."
                case .workingTree:
                    whereText = "in an uncommitted change to a file tracked by git in \(repository ?? "")"
                    fix =
                        "Remove the key from the file before committing (git commit -a would take it); keep it in "
                        + "Keyway (\(login)) and pass it at run time (\(run))."
                }
            case .staged?:
                whereText = "staged for the next commit in \(repository ?? "")"
                fix =
                    "Remove the key from the file and restage it (git add), or unstage the file; keep the key in "
                    + "Keyway (\(login)) and pass it at run time (\(run))."
            case .untracked?:
                whereText = "not yet tracked by git in \(repository ?? ""), which would pick it up"
                fix = "Remove the key from the file (keep it in Keyway: \(login)) or ignore the file."
            case .history?:
                whereText = "in commit \(commit?.prefix(12) ?? "") of \(repository ?? "")"
                fix =
                    "Rotate the key: it is in the repository's history even though the current files no longer "
                    + "hold it."
            case .ignored?, nil:
                whereText = "outside any git repository"
                fix = "Move the key into Keyway (\(login)) and delete it from the file."
            }
            let finding = Finding(
                kind: .secret, rule: match.rule.id, severity: severity, path: path, repository: repository,
                git: git, line: match.line, commit: commit, masked: match.masked,
                message: "\(match.rule.name) \(match.masked) at \(relative):\(match.line)"
                    + (match.encodedIn.map {
                        " (in the base64 value of the Kubernetes Secret's data key \($0), decoded)"
                    }
                        ?? "") + ", \(whereText).",
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

    /// A file or blob read and waiting for its scan (`scanContent`).
    struct QueuedScan {
        let bytes: [UInt8]
        let path: String
        let repository: String?
        let git: Finding.GitStatus?
        let commit: String?
        let committed: CommittedVersions?
    }

    /// The keys the committed (HEAD) and staged (index) versions of a repository's tracked files hold, read on
    /// demand: only for a tracked file whose working-tree copy holds a key, and not even then when that copy is the
    /// blob the index and HEAD hold (`isCommittedCopy`).
    final class CommittedVersions {
        enum Place { case committed, staged, workingTree }

        private let runner: GitRunner
        private let indexOids: [String: String]
        private let changedInIndex: Set<String>
        private var committedCopies: [String: Bool] = [:]
        private unowned let checker: LeakChecker
        private var headOids: [String: String]?
        private var batch: CatFileBatch?
        private var cache: [String: (head: [Secret]?, index: [Secret]?)] = [:]
        private var failed = false

        /// `changedInIndex`: the paths whose index entry differs from HEAD's (`GitRunner.StagedChanges.changed`).
        init(runner: GitRunner, indexOids: [String: String], changedInIndex: Set<String>, checker: LeakChecker) {
            self.runner = runner
            self.indexOids = indexOids
            self.changedInIndex = changedInIndex
            self.checker = checker
        }

        /// Whether `bytes`, the working-tree copy of the tracked file at `path` (relative), is byte for byte what
        /// the index holds for it (its git blob id is the index entry's) while the index holds what HEAD does (the
        /// path is not among the staged changes): then every key in it is committed, and git need not be asked.
        /// Checked once per path.
        func isCommittedCopy(_ path: String, _ bytes: [UInt8]) -> Bool {
            if let known = committedCopies[path] { return known }
            var same = false
            if !changedInIndex.contains(path), let oid = indexOids[path] {
                same = GitBlobID.of(bytes, like: oid) == oid
            }
            committedCopies[path] = same
            return same
        }

        /// The working-tree copies `isCommittedCopy` found to be their committed blob: the paths of each object id.
        var committedBlobs: [String: Set<String>] {
            var blobs: [String: Set<String>] = [:]
            for (path, same) in committedCopies where same {
                if let oid = indexOids[path] { blobs[oid, default: []].insert(path) }
            }
            return blobs
        }

        /// Where the key `secret` found in `bytes`, the working-tree copy of `path` (relative), is. When git cannot
        /// tell (an error, which is reported, or a version too large to read), `.committed`: the cautious answer.
        func place(of secret: Secret, in path: String, bytes: [UInt8]) -> Place {
            if isCommittedCopy(path, bytes) { return .committed }
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
                for entry in try runner.taggedPaths(["ls-tree", "-r", "-z", "--full-tree", "HEAD"]) {
                    guard entry.fields.count == 3, entry.fields[1] == "blob" else { continue }
                    oids[entry.path] = entry.fields[2]
                }
                headOids = oids
            }
            let headOid = headOids?[path]
            let indexOid = indexOids[path]
            let head = try headOid.map { oid throws(KeywayError) in try keys(oid) } ?? nil
            let index =
                indexOid == headOid ? head : try indexOid.map { oid throws(KeywayError) in try keys(oid) } ?? nil
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
