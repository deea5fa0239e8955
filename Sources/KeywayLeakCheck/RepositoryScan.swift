import Glibc
import KeywayCore

/// One repository: its work tree, staged changes and history.
extension LeakChecker {
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
    func foreignWorkTree(_ runner: GitRunner) throws(KeywayError) -> String? {
        let (top, shallow) = try runner.topLevelAndShallow()
        shallowRepositories[runner.root] = shallow
        let real = (try? Sys.realpath(top)) ?? top
        return real == ((try? Sys.realpath(runner.root)) ?? runner.root) ? nil : real
    }

    /// A directory holding a `.git` whose work tree, to git, is `workTree`: git's index and status describe other
    /// files than those under it. Its files (under `prefix`) are scanned as files outside any repository and a note
    /// says the repository itself was not; with `--staged` (git's view is all there is) it is an error.
    func scanElsewhereRepository(_ root: String, prefix: String?, workTree: String, trackedOnly: Bool) {
        let why =
            "git's work tree for the repository at \(root) is \(workTree), not \(root) (core.worktree, or a "
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

    func scanStaged(_ runner: GitRunner, prefix: String?) throws(KeywayError) {
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
        flushScans()
    }

    func scanWorkTree(_ runner: GitRunner, prefix: String?, trackedOnly: Bool) throws(KeywayError) {
        let root = runner.root
        let listing = try runner.workTreeListing(untracked: !trackedOnly)
        let entries = listing.entries
        let changes = try runner.stagedChanges()
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
            files.append((entry.path, changes.added.contains(entry.path) ? .staged : .tracked))
        }
        var nested: [String] = []
        if !trackedOnly {
            for path in listing.untracked where under(path, prefix) {
                if path.hasSuffix("/") {
                    nested.append(String(path.dropLast()))
                } else {
                    files.append((path, .untracked))
                }
            }
        }
        let reader = BeneathReader(root: root)
        let committed = CommittedVersions(
            runner: runner, indexOids: indexOids, changedInIndex: changes.changed, checker: self)
        defer { committed.finish() }
        for (path, state) in files {
            let absolute = root + "/" + path
            let credentials = isCredentialsFileName(ProtectedFile.baseName(path))
            if credentials { addCredentialsFileFinding(absolute, repository: root, state: state) }
            guard let entry = examine(reader, path, path: absolute) else { continue }
            if credentials { checkPermissions(entry.status, path: absolute, repository: root, git: state) }
            guard let bytes = readRegularFile(in: entry.parent, entry.name, path: absolute, status: entry.status)
            else { continue }
            if !credentials, Self.isCredentialsContent(bytes) {
                addCredentialsFileFinding(absolute, repository: root, state: state)
                checkPermissions(entry.status, path: absolute, repository: root, git: state)
            }
            scanContent(
                bytes, path: absolute, repository: root, git: state, commit: nil,
                committed: state == .tracked ? committed : nil)
            // With history, every tracked file is checked now (not only one holding a key), so that the history
            // scan leaves out each blob a working-tree copy just scanned is (`committedBlobs`).
            if options.history, state == .tracked { _ = committed.isCommittedCopy(path, bytes) }
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
        flushScans()
        committed.finish()
        if options.history {
            try scanHistory(runner, prefix: prefix, tracked: tracked, scannedBlobs: committed.committedBlobs)
        }
        // A nested repository is entered only when no directory on the way is a symbolic link.
        for path in submodules + nested where reader.isRepository(path) {
            scanRepository(root + "/" + path, prefix: nil)
        }
    }

    /// The history to scan. A shallow repository (`git clone --depth`, or a `shallow` file put there to cut
    /// history off) is read past its boundary when git can: whatever commits are on this machine are scanned, and a
    /// note says the boundary was crossed. When git cannot (the commits beyond are not here, as in a real shallow
    /// clone), the shallow history is scanned and a note says that history beyond the boundary was not.
    func history(_ runner: GitRunner) throws(KeywayError) -> (entries: [GitRunner.HistoryEntry], commits: Int) {
        let isShallow: Bool
        if let known = shallowRepositories[runner.root] {
            isShallow = known
        } else {
            isShallow = try runner.isShallow()
        }
        guard isShallow else { return try runner.history() }
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

    /// Scans every blob of the history once, at the oldest commit and path that hold it. A blob in
    /// `scannedBlobs` (object id to paths) at one of those paths is not read again: it is the working-tree copy of a
    /// tracked file that the index and HEAD hold byte for byte (`CommittedVersions.isCommittedCopy`), just scanned,
    /// and every key in it was recorded as committed, which leaves out the history findings of the same key and
    /// path; so reading it again could add nothing. It still counts as a blob scanned.
    /// With `bare`, the repository has no work tree: a credentials file in its history may still be at HEAD.
    func scanHistory(
        _ runner: GitRunner, prefix: String?, tracked: Set<String>, scannedBlobs: [String: Set<String>] = [:],
        bare: Bool = false
    ) throws(KeywayError) {
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
                            + "\(root)"
                            + (bare
                                ? " (a bare repository): whatever it held is in the history."
                                : ", though git no longer tracks it: whatever it held is in the history."),
                        fix: "Rotate every key it held. Rewriting history (git filter-repo) does not un-leak a key "
                            + "that was pushed or cloned."))
            }
            guard entry.mode.hasPrefix("100"), firstByBlob[entry.oid] == nil else { continue }
            firstByBlob[entry.oid] = entry
            if scannedBlobs[entry.oid]?.contains(entry.path) == true {
                report.blobsScanned += 1
                continue
            }
            order.append(entry)
        }
        try readBlobs(runner, order.map { ($0.oid, root + "/" + $0.path + " @ " + $0.commit.prefix(12)) }) {
            index, bytes throws(KeywayError) in
            report.blobsScanned += 1
            let entry = order[index]
            scanContent(bytes, path: root + "/" + entry.path, repository: root, git: .history, commit: entry.commit)
        }
        flushScans()
    }
}
