import KeywayCore

/// How leak-check runs git on a repository it may not trust.
///
/// Every command is read-only and runs with `Git.safeOptions` (no fsmonitor, no hooks, no replace objects, literal
/// pathspecs, no optional locks) plus: no external diff, no textconv, no signature verification (a repository's
/// `log.showSignature` would run its `gpg.program`), no commit-graph (a file in the repository that could give
/// commits other parents than their own), no pager, no terminal prompt, and `safe.directory` set to the
/// repository's root for that one command, so a repository owned by another user is read (git would otherwise
/// refuse it) without ever executing anything its configuration names. The environment is
/// `Git.childEnvironment`'s allowlist (no Keyway unlock material, no other tool's key, nothing that would redirect
/// git to another repository or index) with its fixed variables (no transport, no lazy fetch, no replace objects,
/// no grafts), except `GIT_INDEX_FILE` for the repository a pre-commit hook runs in. Each command is stopped after
/// `timeout` seconds (`KEYWAY_GIT_TIMEOUT`, default `defaultTimeout`).
package struct GitRunner: Sendable {
    public let root: String
    let keepIndexFile: Bool
    /// Seconds each git command may take (for `cat-file --batch`: each wait for its next answer).
    public let timeout: Int

    /// Ten minutes: far more than `git log --all --raw` needs on a large history, so only a git that hangs (a
    /// repository whose `.git/config` is a FIFO, a network file system that stopped answering) reaches it.
    public static let defaultTimeout = 600

    public init(root: String, keepIndexFile: Bool = false, timeout: Int = GitRunner.defaultTimeout) {
        self.root = root
        self.keepIndexFile = keepIndexFile
        self.timeout = timeout
    }

    /// The bound `KEYWAY_GIT_TIMEOUT` sets (whole seconds, at least 1), else `defaultTimeout`.
    public static func timeout(from environment: Environment) throws(KeywayError) -> Int {
        guard let value = environment["KEYWAY_GIT_TIMEOUT"] else { return defaultTimeout }
        guard let seconds = Int(value), seconds >= 1, seconds <= 86_400 else {
            throw KeywayError(
                .invalidInput,
                "KEYWAY_GIT_TIMEOUT must be a whole number of seconds from 1 to 86400 (got '\(value.prefix(40))').")
        }
        return seconds
    }

    var arguments: [String] {
        ["git", "-C", root] + Git.safeOptions + [
            "-c", "safe.directory=\(root)", "-c", "log.showSignature=false", "-c", "core.quotePath=false",
            "-c", "diff.external=", "-c", "core.pager=cat", "-c", "core.sshCommand=false", "-c",
            "core.commitGraph=false",
        ]
    }

    /// `Git.childEnvironment`: the allowlisted variables and the fixed hardening, `GIT_INDEX_FILE` only for the
    /// repository a pre-commit hook runs in.
    var environment: [String: String] { Git.childEnvironment(keepingIndexFile: keepIndexFile) }

    /// Runs a git command and returns its standard output; a failure throws with git's own first line. With
    /// `ignoringShallow`, git reads the repository as if it had no `shallow` file (every commit it holds).
    public func run(_ args: [String], ignoringShallow: Bool = false) throws(KeywayError) -> [UInt8] {
        let result: Subprocess.Result
        var environment = environment
        if ignoringShallow { environment["GIT_SHALLOW_FILE"] = Git.nonexistentFile }
        do {
            result = try Subprocess.run(arguments + args, environment: environment, timeout: timeout)
        } catch .timedOut(let seconds) {
            throw KeywayError(
                .gitTimedOut,
                "git \(args.first ?? "") did not answer within \(seconds) s in \(root) and was stopped "
                    + "(KEYWAY_GIT_TIMEOUT sets the bound in seconds).", path: root)
        } catch {
            throw KeywayError(.io, "Cannot run git for \(root): \(error).", path: root)
        }
        guard result.status == 0 else {
            let lines = result.stderrText.split(separator: "\n").map(String.init)
            var message =
                lines.first { $0.hasPrefix("fatal:") || $0.hasPrefix("error:") } ?? lines.first
                ?? "exit status \(result.status)"
            if message.count > 400 { message = String(message.prefix(400)) + "..." }
            throw KeywayError(.io, "git \(args.first ?? "") failed in \(root): \(message)", path: root)
        }
        return result.stdout
    }

    /// Whether git sees a shallow repository (a `shallow` file: `git clone --depth`).
    public func isShallow() throws(KeywayError) -> Bool {
        String(decoding: try run(["rev-parse", "--is-shallow-repository"]), as: UTF8.self)
            .split(whereSeparator: \.isWhitespace).first == "true"
    }

    /// The top of git's work tree and whether the repository is shallow, from one `git rev-parse` (a scan runs
    /// several git commands per repository, each a process start: a small one is worth sharing). The path is
    /// everything before the last line, so a directory name holding a line break is kept whole.
    public func topLevelAndShallow() throws(KeywayError) -> (topLevel: String, shallow: Bool) {
        var output = try run(["rev-parse", "--show-toplevel", "--is-shallow-repository"])[...]
        if output.last == 10 { output = output.dropLast() }
        guard let newline = output.lastIndex(of: 10) else {
            throw KeywayError(
                .io, "git rev-parse gave an unexpected answer in \(root): \(FileNames.text(output.prefix(200)))",
                path: root)
        }
        let flag = String(decoding: output[(newline + 1)...], as: UTF8.self)
        guard flag == "true" || flag == "false" else {
            throw KeywayError(.io, "git rev-parse gave an unexpected answer in \(root): \(flag.prefix(40))", path: root)
        }
        return (String(decoding: output[..<newline], as: UTF8.self), flag == "true")
    }

    /// NUL-separated output split into paths, each as its `FileNames` text (a name that is not valid UTF-8 is kept
    /// escaped, never repaired with U+FFFD into another name).
    public func paths(_ args: [String]) throws(KeywayError) -> [String] {
        try run(args).split(separator: 0).map { FileNames.text($0) }
    }

    /// NUL-separated records `<fields>\t<path>` (`ls-files --stage`, `ls-tree`): the space-separated fields and the
    /// path as its `FileNames` text.
    func taggedPaths(_ args: [String]) throws(KeywayError) -> [(fields: [String], path: String)] {
        try run(args).split(separator: 0).compactMap(Self.taggedPath)
    }

    /// One `<fields>\t<path>` record; nil without a tab.
    static func taggedPath(_ record: ArraySlice<UInt8>) -> (fields: [String], path: String)? {
        guard let tab = record.firstIndex(of: 9) else { return nil }
        let fields = record[..<tab].split(separator: 32).map { String(decoding: $0, as: UTF8.self) }
        return (fields, FileNames.text(record[(tab + 1)...]))
    }

    /// An `ls-files --stage` record, `<mode> <oid> <stage>\t<path>`, as an index entry.
    static func indexEntry(_ record: (fields: [String], path: String)) -> (mode: String, oid: String, path: String)? {
        record.fields.count == 3 ? (record.fields[0], record.fields[1], record.path) : nil
    }

    /// Ignored untracked paths; an ignored directory is listed once, as `dir/`.
    public func ignoredFiles() throws(KeywayError) -> [String] {
        try paths(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"])
    }

    /// What one `git ls-files -t --stage [--others --exclude-standard]` tells of a work tree. (Not `--modified`:
    /// to compare a file whose stat data changed, git runs the clean filter the repository's configuration
    /// names, which leak-check must never run.)
    public struct WorkTreeListing: Sendable {
        /// Index entries (mode, object id, path), gitlinks (submodules) included, in git's order.
        public var entries: [(mode: String, oid: String, path: String)] = []
        /// Untracked paths that are not ignored (what `git add .` would pick up); a nested repository shows as
        /// `dir/`. Empty unless asked for.
        public var untracked: [String] = []
    }

    /// The index entries and (with `untracked`) the untracked files, from one git command: each record carries
    /// ls-files' status tag (`?` untracked, another letter an index entry), so no name, however made, can pass for
    /// another kind of record.
    public func workTreeListing(untracked: Bool) throws(KeywayError) -> WorkTreeListing {
        var listing = WorkTreeListing()
        let output = try run(
            ["ls-files", "-z", "-t", "--stage"] + (untracked ? ["--others", "--exclude-standard"] : []))
        for record in output.split(separator: 0) {
            guard record.count > 2, record[record.startIndex + 1] == 32 else { continue }
            let tag = record[record.startIndex]
            let rest = record[(record.startIndex + 2)...]
            if tag == UInt8(ascii: "?") {
                listing.untracked.append(FileNames.text(rest))
                continue
            }
            if let entry = Self.taggedPath(rest).flatMap(Self.indexEntry) { listing.entries.append(entry) }
        }
        return listing
    }

    /// Index entries (mode, object id, path), gitlinks (submodules) included.
    public func indexEntries() throws(KeywayError) -> [(mode: String, oid: String, path: String)] {
        try taggedPaths(["ls-files", "-z", "--stage"]).compactMap(Self.indexEntry)
    }

    /// Paths whose staged content differs from HEAD (added, copied, modified, renamed, type changed). In a
    /// repository without commits yet, every index entry.
    public func stagedFiles() throws(KeywayError) -> [String] {
        try staged(filter: "ACMRT").map(\.path)
    }

    /// How the index differs from HEAD, from one `git diff --cached --name-status`.
    public struct StagedChanges: Sendable {
        /// Paths the index adds to HEAD, `git add -N` entries (intent to add) included: they are in no commit either.
        public var added: Set<String> = []
        /// Every path whose index entry differs from HEAD's in any way (added, deleted, modified, type changed,
        /// unmerged): a tracked path not in it is, in the index, what HEAD holds.
        public var changed: Set<String> = []
    }

    /// The index against HEAD (in a repository without commits yet, every index entry is added).
    public func stagedChanges() throws(KeywayError) -> StagedChanges {
        var changes = StagedChanges()
        for (status, path) in try staged(filter: nil, intentToAdd: true) {
            changes.changed.insert(path)
            if status == "A" { changes.added.insert(path) }
        }
        return changes
    }

    /// `git diff --cached` of the index against HEAD, which compares with the empty tree when HEAD is unborn (no
    /// commit yet), and also when HEAD's branch names a commit that is not there: one git command. Should it fail
    /// while `rev-parse --verify HEAD` fails too, every index entry counts as added, as for an unborn HEAD (no such
    /// case is known with git 2.39: under a HEAD naming a blob, or a commit whose tree is missing, `diff` fails while
    /// `rev-parse` succeeds, and git's error is reported, as it was when HEAD was looked at first). Each record is
    /// the status letter and the path (`--no-renames`: one path each).
    private func staged(filter: String?, intentToAdd: Bool = false) throws(KeywayError) -> [(
        status: String, path: String
    )] {
        let diff =
            ["diff", "--cached", "--name-status", "-z", "--no-renames", "--no-ext-diff"]
            + (filter.map { ["--diff-filter=\($0)"] } ?? []) + (intentToAdd ? ["--ita-visible-in-index"] : [])
        let output: [UInt8]
        do throws(KeywayError) {
            output = try run(diff)
        } catch  where error.code != .gitTimedOut {
            let hasHead = (try? run(["rev-parse", "--verify", "--quiet", "HEAD"])) != nil
            if !hasHead { return try paths(["ls-files", "-z", "--cached"]).map { ("A", $0) } }
            throw error
        }
        // "<status>\0<path>\0" for each path.
        let fields = output.split(separator: 0, omittingEmptySubsequences: false)
        var records: [(status: String, path: String)] = []
        var index = 0
        while index + 1 < fields.count {
            let status = String(decoding: fields[index].prefix(1), as: UTF8.self)
            let path = fields[index + 1]
            index += 2
            guard !status.isEmpty, !path.isEmpty else { continue }
            records.append((status, FileNames.text(path)))
        }
        return records
    }

    /// One file version added or changed by a commit.
    public struct HistoryEntry: Sendable {
        public let commit: String
        public let oid: String
        public let path: String
        public let mode: String
    }

    /// Every blob added or modified by any commit of any ref (`--all`, oldest first; merges compared with their
    /// first parent), and every path any commit touched. With `ignoringShallow`, past a shallow boundary too.
    public func history(ignoringShallow: Bool = false) throws(KeywayError) -> (entries: [HistoryEntry], commits: Int) {
        let output = try run(
            [
                "log", "--all", "--reverse", "--no-renames", "--diff-merges=first-parent", "--root", "--raw",
                "--no-abbrev", "--no-ext-diff", "--no-textconv", "--no-show-signature", "--format=%x01%H", "-z",
            ], ignoringShallow: ignoringShallow)
        var entries: [HistoryEntry] = []
        var commit = ""
        var commits = 0
        var pending: (mode: String, oid: String, status: UInt8)?
        for token in output.split(separator: 0, omittingEmptySubsequences: false) {
            var t = token[...]
            while let first = t.first, first == 10 { t = t.dropFirst() }
            if let first = t.first, first == 1 {
                commit = String(decoding: t.dropFirst(), as: UTF8.self)
                commits += 1
                pending = nil
                continue
            }
            if let p = pending {
                pending = nil
                if p.status != UInt8(ascii: "D"), p.mode != "160000", p.oid.count >= 40 {
                    entries.append(
                        HistoryEntry(commit: commit, oid: p.oid, path: FileNames.text(t), mode: p.mode)
                    )
                }
                continue
            }
            if let first = t.first, first == UInt8(ascii: ":") {
                // ":oldmode newmode oldoid newoid status"
                let fields = t.dropFirst().split(separator: 32)
                guard fields.count >= 5 else { continue }
                pending = (
                    String(decoding: fields[1], as: UTF8.self), String(decoding: fields[3], as: UTF8.self),
                    fields[4].first ?? 0
                )
            }
        }
        return (entries, commits)
    }
}

/// One long-lived `git cat-file --batch` reading many objects, or `git cat-file --batch-check` telling their type
/// and size without reading them. It runs as a `Subprocess.Child` with the runner's arguments and environment (those
/// of every other git child): each wait for an answer is bounded by the runner's timeout, so a cat-file stuck on a
/// FIFO in the object store cannot block the scan, and a write to a git that has died fails on its own descriptor
/// without raising SIGPIPE.
package final class CatFileBatch {
    private let child: Subprocess.Child
    private var buffer: [UInt8] = []
    private var position = 0
    private let root: String
    private let checkOnly: Bool
    /// Set when reading failed: `finish` then kills git instead of waiting for it.
    private var failed = false

    /// With `checkOnly`, `git cat-file --batch-check` (for `info`); else `git cat-file --batch` (for `read`).
    public init(_ runner: GitRunner, checkOnly: Bool = false) throws(KeywayError) {
        root = runner.root
        self.checkOnly = checkOnly
        do {
            child = try Subprocess.Child(
                runner.arguments + ["cat-file", checkOnly ? "--batch-check" : "--batch"],
                environment: runner.environment, timeout: runner.timeout)
        } catch {
            throw KeywayError(.io, "Cannot run git cat-file for \(runner.root): \(error).", path: runner.root)
        }
    }

    deinit { finish() }

    /// The type and size of each object (nil for a missing one), in order, read with `--batch-check`: nothing of
    /// the contents is read.
    public func info(_ oids: [String]) throws(KeywayError) -> [(type: String, size: Int)?] {
        precondition(checkOnly, "info needs a --batch-check process")
        var result: [(type: String, size: Int)?] = []
        result.reserveCapacity(oids.count)
        try exchange(oids) { _, header throws(KeywayError) in
            guard let (type, size) = try parse(header) else {
                result.append(nil)
                return
            }
            result.append((type, size))
        }
        return result
    }

    /// The contents of each blob (nil for a missing object, one that is not a blob, or one larger than
    /// `maximumSize`), in order. An object larger than `maximumSize` is read from git in small pieces and dropped,
    /// so memory stays bounded by `maximumSize` whatever the repository holds. With `skippingBinary`, a blob whose
    /// first bytes show it is binary (`ContentScanner.isBinary`) is handed over as those first bytes only, the rest
    /// dropped unread. Requests are written in groups small enough to fit the pipe, so neither side can block the
    /// other.
    public func read(
        _ oids: [String], maximumSize: Int = Int.max, skippingBinary: Bool = false,
        _ body: (Int, [UInt8]?) throws(KeywayError) -> Void
    ) throws(KeywayError) {
        precondition(!checkOnly, "read needs a --batch process")
        try exchange(oids) { index, header throws(KeywayError) in
            guard let (type, size) = try parse(header) else {
                try body(index, nil)
                return
            }
            guard type == "blob", size <= maximumSize else {
                try discard(size + 1)  // the contents and the LF after them
                try body(index, nil)
                return
            }
            if skippingBinary {
                let head = try readExactly(min(size, ContentScanner.binaryCheckLength))
                if ContentScanner.isBinary(head) {
                    try discard(size - head.count + 1)
                    try body(index, head)
                    return
                }
                var contents = head
                contents.reserveCapacity(size)
                try readExactly(size - head.count, into: &contents)
                try discard(1)
                try body(index, contents)
                return
            }
            let contents = try readExactly(size)
            try discard(1)  // the LF after the contents
            try body(index, contents)
        }
    }

    /// Writes the requests in groups of 256 and hands each answer's header line to `answer`, which reads the rest.
    private func exchange(
        _ oids: [String], _ answer: (Int, ArraySlice<UInt8>) throws(KeywayError) -> Void
    ) throws(KeywayError) {
        var start = 0
        while start < oids.count {
            let end = min(oids.count, start + 256)
            var request: [UInt8] = []
            for oid in oids[start..<end] { request += Array(oid.utf8) + [10] }
            do { try child.write(request) } catch { throw failure(error, "cannot write to git cat-file") }
            for index in start..<end {
                guard let header = try readLine() else { throw failure("git cat-file ended early") }
                try answer(index, header)
            }
            start = end
        }
    }

    /// The largest object size accepted from git (4 EiB): anything larger is a crafted header.
    static let maximumObjectSize = 1 << 62

    /// `<oid> <type> <size>`, or nil for `<name> missing` / `<name> ambiguous`.
    func parse(_ header: ArraySlice<UInt8>) throws(KeywayError) -> (String, Int)? {
        let fields = header.split(separator: 32)
        if fields.count == 2, fields[1] == Array("missing".utf8)[...] || fields[1] == Array("ambiguous".utf8)[...] {
            return nil
        }
        // A size git prints for a crafted loose object can be anything up to ULONG_MAX: one past `maximumObjectSize`
        // is refused as an unexpected answer, so that arithmetic on it (the contents plus their LF) cannot overflow.
        guard fields.count == 3, let size = Int(String(decoding: fields[2], as: UTF8.self)), size >= 0,
            size <= Self.maximumObjectSize
        else {
            throw failure("unexpected answer from git cat-file: \(String(decoding: header.prefix(100), as: UTF8.self))")
        }
        return (String(decoding: fields[1], as: UTF8.self), size)
    }

    private func failure(_ what: String) -> KeywayError {
        failed = true
        var message = what
        if let line = String(decoding: child.errorOutput(), as: UTF8.self).split(separator: "\n").first {
            message += ": " + line
        }
        return KeywayError(.io, "Reading objects of \(root) failed: \(message)", path: root)
    }

    /// `failure` for an error of the child's: a timeout says so, anything else follows `what`.
    private func failure(_ error: SubprocessError, _ what: String) -> KeywayError {
        switch error {
        case .timedOut(let seconds):
            return failure("git cat-file did not answer within \(seconds) s and was stopped (KEYWAY_GIT_TIMEOUT)")
        case .writeFailed(let errno), .readFailed(let errno): return failure("\(what): \(errno)")
        default: return failure("\(what): \(error)")
        }
    }

    private func fill() throws(KeywayError) -> Bool {
        if position > 0, position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        let chunk: [UInt8]
        do { chunk = try child.read() } catch { throw failure(error, "cannot read from git cat-file") }
        guard !chunk.isEmpty else { return false }
        buffer.append(contentsOf: chunk)
        return true
    }

    private func readLine() throws(KeywayError) -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[position...].firstIndex(of: 10) {
                let line = buffer[position..<newline]
                position = newline + 1
                return line
            }
            if try !fill() { return nil }
        }
    }

    /// Reads and drops `count` bytes, one buffer at a time.
    private func discard(_ count: Int) throws(KeywayError) {
        var left = count
        while left > 0 {
            if position == buffer.count, try !fill() { throw failure("git cat-file ended early") }
            let take = min(left, buffer.count - position)
            position += take
            left -= take
            if position == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                position = 0
            }
        }
    }

    private func readExactly(_ count: Int) throws(KeywayError) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        try readExactly(count, into: &result)
        return result
    }

    /// Appends exactly `count` bytes to `result`.
    private func readExactly(_ count: Int, into result: inout [UInt8]) throws(KeywayError) {
        let target = result.count + count
        while result.count < target {
            if position == buffer.count, try !fill() { throw failure("git cat-file ended early") }
            let take = min(target - result.count, buffer.count - position)
            result.append(contentsOf: buffer[position..<(position + take)])
            position += take
            if position == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                position = 0
            }
        }
    }

    /// Closes git's input and waits for it (kills it, with its process group, after a failed read).
    public func finish() { child.finish(stopping: failed) }
}
