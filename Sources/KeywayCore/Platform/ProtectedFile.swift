import Glibc

/// A file that holds secrets: read with ownership, type and permission checks; written atomically under an exclusive
/// lock. Shared by every file-based backend.
///
/// Reading:
/// - a missing file reads as nil;
/// - a file owned by another user, or anything but a regular file, is refused;
/// - a symbolic link is followed only to a regular file owned by the user;
/// - a file that group or others can write is refused (anyone who can could replace the key);
/// - other group or other permission bits (read, execute) give a warning naming the file, its mode and the
///   `chmod 600` fix, or in strict mode an error;
/// - a file larger than `sizeLimit` is refused from its `fstat` size before anything is read, and the read itself
///   stops one byte past the limit, so a file that grows while it is read is refused too (memory stays bounded by the
///   limit whatever the file claims).
///
/// Writing (`update`): an exclusive `flock` on `<file>.lock` serializes writers across processes; the new contents go
/// to a temporary file in the same directory opened `O_CREAT|O_EXCL|O_NOFOLLOW` mode 0600, which is fsynced, renamed
/// over the file, and the directory fsynced. Missing directories are created 0700. A symlinked file is replaced at its
/// target, so the link survives.
package struct ProtectedFile: Sendable {
    public let path: String
    public let strict: Bool
    public let warn: WarningHandler?
    /// The largest file, in bytes, read or updated.
    public let sizeLimit: Int

    /// The default size limit: a tool's own credentials file, an app spec (16 MiB).
    public static let defaultSizeLimit = 16 << 20
    /// Keyway's stores, `credentials.json` and the vault (64 MiB: 10,000 credentials of 6 KiB each).
    public static let storeSizeLimit = 64 << 20
    /// A file that holds only a key (`--key-file`, a tool's key file): 64 KiB, the longest key, plus 1 KiB of
    /// surrounding whitespace.
    public static let keyFileSizeLimit = 65 << 10

    public init(path: String, strict: Bool = false, warn: WarningHandler? = nil, sizeLimit: Int = defaultSizeLimit) {
        self.path = path
        self.strict = strict
        self.warn = warn
        self.sizeLimit = sizeLimit
    }

    /// The contents, or nil when the file does not exist.
    public func read() throws(KeywayError) -> [UInt8]? {
        guard let fd = try openChecked(path) else { return nil }
        defer { Sys.close(fd) }
        return try readBounded(fd, name: path)
    }

    /// The contents of the checked descriptor `fd`, at most `sizeLimit` bytes (the size was checked from `fstat` when
    /// it was opened; this catches a file that grew since).
    func readBounded(_ fd: Int32, name: String) throws(KeywayError) -> [UInt8] {
        let bytes: [UInt8]?
        do throws(Errno) { bytes = try Sys.readAll(fd, limit: sizeLimit) } catch {
            throw KeywayError(.io, "Cannot read \(name): \(error).", path: name)
        }
        guard let bytes else { throw tooLarge(name, size: nil) }
        return bytes
    }

    func tooLarge(_ name: String, size: Int?) -> KeywayError {
        let actual = size.map { " is \($0) bytes, which is" } ?? " grew while it was read to"
        return KeywayError(
            .malformedFile,
            "\(name)\(actual) more than \(ProtectedFile.describeSize(sizeLimit)), the most Keyway reads from such a "
                + "file; Keyway refuses it.", path: name)
    }

    /// `65 KiB`, `64 MiB`.
    public static func describeSize(_ bytes: Int) -> String {
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    /// Opens the file after the same checks as `read` and passes the descriptor to `body`, for readers that must not
    /// copy the contents through ordinary memory (a key file). Nil when the file does not exist.
    public func withCheckedDescriptor<T>(_ body: (Int32) throws(KeywayError) -> T) throws(KeywayError) -> T? {
        guard let fd = try openChecked(path) else { return nil }
        defer { Sys.close(fd) }
        return try body(fd)
    }

    /// Runs `body` on the current contents (nil when there is no file) while holding the lock, and when it returns
    /// new contents, replaces the file with them atomically. When `body` throws, nothing is written.
    @discardableResult
    public func update<T>(_ body: ([UInt8]?) throws(KeywayError) -> (contents: [UInt8]?, result: T)) throws(KeywayError)
        -> T
    {
        let target = try resolvedTarget()
        try ProtectedFile.refuseIfNotRegular(target)
        let directory = ProtectedFile.directoryName(target)
        try ProtectedFile.ensureDirectory(directory)
        let lock = try acquireLock(target + ".lock")
        defer { Sys.close(lock) }
        let current: [UInt8]?
        if let fd = try openChecked(target) {
            defer { Sys.close(fd) }
            current = try readBounded(fd, name: target)
        } else {
            current = nil
        }
        let (contents, result) = try body(current)
        if let contents { try ProtectedFile.replace(target, with: contents) }
        return result
    }

    /// The contents with the identity of the file they came from, never through a symbolic link (a link is refused:
    /// `unsafeFile`); nil when the file does not exist. For a caller that acts on the file later (`removeIfUnchanged`).
    public func snapshot() throws(KeywayError) -> FileSnapshot? {
        let st: FileStatus?
        do throws(Errno) { st = try Sys.lstat(path) } catch {
            throw KeywayError(.io, "Cannot examine \(path): \(error).", path: path)
        }
        guard let st else { return nil }
        guard !FileMode.isSymlink(st) else {
            throw KeywayError(.unsafeFile, "\(path) is a symbolic link; Keyway will not act on it.", path: path)
        }
        // Not a link when examined: opened with O_NOFOLLOW, so one swapped in since is refused too.
        return try withCheckedDescriptor { fd throws(KeywayError) -> FileSnapshot in
            let identity: FileIdentity
            do throws(Errno) { identity = FileIdentity(try Sys.fstat(fd)) } catch {
                throw KeywayError(.io, "Cannot examine \(path): \(error).", path: path)
            }
            return FileSnapshot(identity: identity, bytes: try readBounded(fd, name: path))
        }
    }

    /// Deletes the file when it is still exactly `snapshot`: opened again without following links, the same device,
    /// inode, size, modification and change times, and the same bytes; and the name still leads to that inode just
    /// before the unlink. Returns false (and deletes nothing) when anything differs or the file is gone.
    public func removeIfUnchanged(_ snapshot: FileSnapshot) throws(KeywayError) -> Bool {
        let now: FileSnapshot?
        do throws(KeywayError) { now = try self.snapshot() } catch  where error.code == .unsafeFile { return false }
        guard let now, now == snapshot else { return false }
        let st: FileStatus?
        do throws(Errno) { st = try Sys.lstat(path) } catch {
            throw KeywayError(.io, "Cannot examine \(path): \(error).", path: path)
        }
        guard let st, FileIdentity(st) == snapshot.identity else { return false }
        do throws(Errno) { try Sys.unlink(path) } catch {
            throw KeywayError(.io, "Cannot remove \(path): \(error).", path: path)
        }
        return true
    }

    // MARK: - Checks

    /// Where writes go: the path itself, or for a symbolic link that passes the checks, its target.
    func resolvedTarget() throws(KeywayError) -> String {
        let st: FileStatus?
        do throws(Errno) { st = try Sys.lstat(path) } catch {
            throw KeywayError(.io, "Cannot examine \(path): \(error).", path: path)
        }
        guard let st, FileMode.isSymlink(st) else { return path }
        try checkLinkTarget()
        do throws(Errno) { return try Sys.realpath(path) } catch {
            throw KeywayError(.io, "Cannot resolve the symbolic link \(path): \(error).", path: path)
        }
    }

    func checkLinkTarget() throws(KeywayError) {
        let target: FileStatus?
        do throws(Errno) { target = try Sys.statFollowingLinks(path) } catch {
            throw KeywayError(.unsafeFile, "Cannot follow the symbolic link \(path): \(error).", path: path)
        }
        guard let target else {
            throw KeywayError(
                .unsafeFile, "\(path) is a symbolic link to a file that does not exist; Keyway will not create it.",
                path: path)
        }
        guard FileMode.isRegular(target) else {
            throw KeywayError(
                .unsafeFile, "\(path) is a symbolic link to something that is not a regular file; Keyway refuses it.",
                path: path)
        }
        guard target.st_uid == Sys.effectiveUserID else {
            throw KeywayError(
                .foreignOwner,
                "\(path) is a symbolic link to a file owned by user \(target.st_uid), not by you "
                    + "(\(Sys.effectiveUserID)); Keyway refuses it.", path: path)
        }
    }

    /// Refuses `file` when it exists and is not a regular file (a device such as /dev/null, a FIFO, a directory),
    /// before anything (the `.lock` file, a temporary file) is created next to it.
    static func refuseIfNotRegular(_ file: String) throws(KeywayError) {
        let st: FileStatus?
        do throws(Errno) { st = try Sys.lstat(file) } catch {
            throw KeywayError(.io, "Cannot examine \(file): \(error).", path: file)
        }
        if let st, !FileMode.isRegular(st) {
            throw KeywayError(.unsafeFile, "\(file) is not a regular file; Keyway refuses it.", path: file)
        }
    }

    /// Opens `file` for reading after the checks; nil when it does not exist.
    func openChecked(_ file: String) throws(KeywayError) -> Int32? {
        let st: FileStatus?
        do throws(Errno) { st = try Sys.lstat(file) } catch {
            throw KeywayError(.io, "Cannot examine \(file): \(error).", path: file)
        }
        guard let st else { return nil }
        var flags = O_RDONLY | O_NOCTTY | O_NONBLOCK
        if FileMode.isSymlink(st) {
            try checkLinkTarget()
        } else {
            flags |= O_NOFOLLOW
        }
        let fd: Int32
        do throws(Errno) { fd = try Sys.open(file, flags) } catch {
            if error == .noEntry { return nil }
            throw KeywayError(.io, "Cannot open \(file): \(error).", path: file)
        }
        do throws(KeywayError) {
            try check(descriptor: fd, name: file)
        } catch {
            Sys.close(fd)
            throw error
        }
        return fd
    }

    /// Checks what was actually opened, so a file swapped between `lstat` and `open` is still caught.
    func check(descriptor fd: Int32, name: String) throws(KeywayError) {
        let st: FileStatus
        do throws(Errno) { st = try Sys.fstat(fd) } catch {
            throw KeywayError(.io, "Cannot examine \(name): \(error).", path: name)
        }
        guard FileMode.isRegular(st) else {
            throw KeywayError(.unsafeFile, "\(name) is not a regular file; Keyway refuses it.", path: name)
        }
        guard st.st_uid == Sys.effectiveUserID else {
            throw KeywayError(
                .foreignOwner,
                "\(name) is owned by user \(st.st_uid), not by you (\(Sys.effectiveUserID)); Keyway refuses to use it.",
                path: name)
        }
        if st.st_mode & 0o022 != 0 {
            // Whoever can write the file can replace the key: refused whatever the mode, not only when strict.
            throw KeywayError(
                .insecurePermissions,
                "\(name) has permissions \(FileMode.octal(st.st_mode)), which let group or others write it (anyone "
                    + "who can could replace the key); Keyway refuses it. "
                    + "Fix with: chmod 600 \(ProtectedFile.shellQuoted(name))", path: name)
        }
        if st.st_size > sizeLimit { throw tooLarge(name, size: Int(st.st_size)) }
        if st.st_mode & 0o077 != 0 {
            let mode = FileMode.octal(st.st_mode)
            if strict {
                throw KeywayError(
                    .insecurePermissions,
                    "\(name) has permissions \(mode), which let group or others access it; strict mode refuses it. "
                        + "Fix with: chmod 600 \(ProtectedFile.shellQuoted(name))", path: name)
            }
            warn?(
                KeywayWarning(
                    .insecurePermissions,
                    "\(name) has permissions \(mode), which let group or others access it. "
                        + "Fix with: chmod 600 \(ProtectedFile.shellQuoted(name))"))
        }
    }

    // MARK: - Writing

    func acquireLock(_ lockPath: String) throws(KeywayError) -> Int32 {
        let fd: Int32
        do throws(Errno) { fd = try Sys.open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY, 0o600) } catch {
            throw KeywayError(.io, "Cannot open the lock file \(lockPath): \(error).", path: lockPath)
        }
        let st: FileStatus
        do throws(Errno) { st = try Sys.fstat(fd) } catch {
            Sys.close(fd)
            throw KeywayError(.io, "Cannot examine the lock file \(lockPath): \(error).", path: lockPath)
        }
        guard FileMode.isRegular(st), st.st_uid == Sys.effectiveUserID else {
            Sys.close(fd)
            throw KeywayError(
                .unsafeFile, "The lock file \(lockPath) is not a regular file owned by you; Keyway refuses it.",
                path: lockPath)
        }
        do throws(Errno) { try Sys.lockExclusive(fd) } catch {
            Sys.close(fd)
            throw KeywayError(.io, "Cannot lock \(lockPath): \(error).", path: lockPath)
        }
        return fd
    }

    /// Replaces `target` with `contents`: temporary file (0600, O_EXCL, O_NOFOLLOW), fsync, rename, directory fsync.
    public static func replace(_ target: String, with contents: [UInt8]) throws(KeywayError) {
        do throws(Errno) {
            try install(contents, at: target) { temporary throws(Errno) in try Sys.rename(temporary, target) }
        } catch {
            throw KeywayError(
                .io, "Cannot write \(target): \(error). The previous file, if any, is unchanged.", path: target)
        }
    }

    /// Creates `target` with `contents`, never replacing anything already there: the temporary file (as for `replace`)
    /// is hard-linked to `target`, which fails when the name exists, so the file appears whole or not at all.
    public static func createExclusively(_ target: String, with contents: [UInt8]) throws(KeywayError) {
        do throws(Errno) {
            try install(contents, at: target) { temporary throws(Errno) in
                try Sys.link(temporary, target)
                try? Sys.unlink(temporary)
            }
        } catch {
            if error == .exists {
                throw KeywayError(
                    .invalidInput, "\(target) already exists; Keyway will not overwrite it.", path: target)
            }
            throw KeywayError(.io, "Cannot create \(target): \(error). Nothing was created.", path: target)
        }
    }

    /// Writes `contents` to a fresh temporary file next to `target` (O_CREAT|O_EXCL|O_NOFOLLOW, 0600 whatever the
    /// umask), fsyncs it, lets `place` move or link it to `target`, then fsyncs the directory. The temporary file is
    /// removed when anything before `place` completes fails.
    static func install(
        _ contents: [UInt8], at target: String, place: (String) throws(Errno) -> Void
    ) throws(Errno) {
        let directory = directoryName(target)
        let suffix = try Sys.randomBytes(6).map { String($0, radix: 16) }.joined()
        let temporary = directory + "/." + baseName(target) + ".tmp-" + suffix
        var created = false
        do throws(Errno) {
            let fd = try Sys.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0o600)
            created = true
            do {
                try Sys.fchmod(fd, 0o600)  // whatever the umask
                try Sys.writeAll(fd, contents)
                try Sys.fsync(fd)
            } catch {
                Sys.close(fd)
                throw error
            }
            Sys.close(fd)
            try place(temporary)
            created = false
            let dirfd = try Sys.open(directory, O_RDONLY | O_DIRECTORY)
            defer { Sys.close(dirfd) }
            try Sys.fsync(dirfd)
        } catch {
            if created { try? Sys.unlink(temporary) }
            throw error
        }
    }

    /// Creates `directory` and any missing parents with mode 0700 (whatever the umask). Existing ones are left as
    /// they are.
    public static func ensureDirectory(_ directory: String) throws(KeywayError) {
        var missing: [String] = []
        var current = directory
        while true {
            let st: FileStatus?
            do throws(Errno) { st = try Sys.statFollowingLinks(current) } catch {
                throw KeywayError(.io, "Cannot examine \(current): \(error).", path: current)
            }
            if let st {
                guard FileMode.isDirectory(st) else {
                    throw KeywayError(.io, "\(current) exists and is not a directory.", path: current)
                }
                break
            }
            missing.append(current)
            let parent = directoryName(current)
            if parent == current { break }
            current = parent
        }
        for dir in missing.reversed() {
            do throws(Errno) {
                try Sys.mkdir(dir, 0o700)
                try Sys.chmod(dir, 0o700)
            } catch {
                if error == .exists { continue }
                throw KeywayError(.io, "Cannot create the directory \(dir): \(error).", path: dir)
            }
        }
    }

    // MARK: - Paths

    public static func directoryName(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    public static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Quotes a path for a shell command shown to the user, only when it needs it.
    public static func shellQuoted(_ path: String) -> String {
        let safe = path.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                || "/._-+,:@%".unicodeScalars.contains(scalar)
        }
        if safe && !path.isEmpty { return path }
        return "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// What identifies one version of a file: device, inode, size, modification and status-change times (the change
/// time moves on every write and cannot be set back by a user).
package struct FileIdentity: Sendable, Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: [Int]
    let changed: [Int]

    public init(_ st: FileStatus) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = [Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)]
        changed = [Int(st.st_ctim.tv_sec), Int(st.st_ctim.tv_nsec)]
    }
}

/// A file's bytes and the identity of the file they were read from (`ProtectedFile.snapshot`).
package struct FileSnapshot: Sendable, Equatable {
    public let identity: FileIdentity
    public let bytes: [UInt8]
}

// MARK: - The directories above a secret

/// A directory on the way to Keyway's files that another user could use to delete, replace or roll back them.
package struct DirectoryProblem: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Owned by a user other than the current one and root.
        case foreignOwner(uid: UInt32)
        /// Writable by group or others (and not a sticky directory such as /tmp above the files).
        case writable(mode: UInt32)
    }

    /// The real directory (symbolic links resolved).
    public let path: String
    public let kind: Kind
    /// For people; names the directory, what is wrong and why it matters.
    public let message: String
    /// What to do about it.
    public let fix: String
}

/// Checks the directories that lead to a secret the way OpenSSH's StrictModes checks `~/.ssh` (`safe_path`): each
/// directory from the one holding the files up to and including the home directory — up to `/` when it is not under
/// the home directory — must be owned by the user or root and not writable by group or others. An ancestor (never the
/// directory itself) that is sticky, such as `/tmp`, may be writable by others: the sticky bit keeps them from
/// removing or renaming what they do not own.
///
/// The path is walked one component at a time as the kernel resolves it, so every directory that holds a component
/// *before* a symbolic link is followed is checked too (whoever can write the directory holding a link can point it
/// elsewhere), then each link's target the same way, and the chain above where the path finally leads. A directory
/// that does not exist yet is checked from its nearest existing ancestor (Keyway creates the missing ones with mode
/// 0700). Directories above the home directory are left out, as ssh does.
package enum DirectoryChain {
    /// The problems of the directories leading to the directory `directory` (which holds Keyway's files), nearest
    /// first; empty when all is well or when the chain cannot be examined (the file operations then report their own
    /// errors).
    public static func problems(for directory: String, home: String?) -> [DirectoryProblem] {
        guard let walk = Walk(directory) else { return [] }
        // The directory itself, when it exists; else its nearest existing ancestor, which may be sticky like /tmp.
        return problems(of: walk, first: walk.current, firstIsTarget: walk.complete, lexical: directory, home: home)
    }

    /// The problems of the directories leading to the file `file` (a symbolic link is followed to where it leads):
    /// the directory holding the file, or where it will be created, must not even be sticky.
    public static func problems(forFile file: String, home: String?) -> [DirectoryProblem] {
        guard let walk = Walk(file) else { return [] }
        if walk.complete {
            return problems(
                of: walk, first: ProtectedFile.directoryName(walk.current), firstIsTarget: true,
                lexical: ProtectedFile.directoryName(file), home: home, leadsFrom: file)
        }
        return problems(
            of: walk, first: walk.current, firstIsTarget: walk.missingIsLast,
            lexical: ProtectedFile.directoryName(file),
            home: home)
    }

    /// A path resolved the way the kernel does, one component at a time, recording each directory a component was
    /// looked up in.
    struct Walk {
        /// Each directory a component was looked up in (links resolved), with the symbolic link it held, if any.
        var holding: [(directory: String, link: String?)] = []
        /// Where the path leads; when it does not exist, its nearest existing ancestor.
        var current: String
        /// Whether the whole path exists.
        var complete = true
        /// When it does not, whether only the last component is missing.
        var missingIsLast = false

        init?(_ path: String) {
            if path.hasPrefix("/") {
                current = "/"
            } else {
                guard let cwd = try? Sys.realpath(".") else { return nil }
                current = cwd
            }
            var pending = Array(path.split(separator: "/", omittingEmptySubsequences: true).reversed())
            var links = 0
            while let component = pending.popLast() {
                if component == "." { continue }
                if component == ".." {
                    current = ProtectedFile.directoryName(current)
                    continue
                }
                let next = (current == "/" ? "" : current) + "/" + component
                let status: FileStatus?
                do throws(Errno) { status = try Sys.lstat(next) } catch { return nil }
                guard let st = status else {
                    holding.append((current, nil))
                    complete = false
                    missingIsLast = pending.allSatisfy { $0 == "." }
                    return
                }
                if FileMode.isSymlink(st) {
                    holding.append((current, next))
                    links += 1
                    guard links <= 40, let target = DirectoryChain.readLink(next) else { return nil }
                    if target.hasPrefix("/") { current = "/" }
                    pending += target.split(separator: "/", omittingEmptySubsequences: true).reversed()
                    continue
                }
                holding.append((current, nil))
                current = next
            }
        }
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `first` (the directory holding the files: sticky is no excuse when `firstIsTarget`; `lexical` is how the path
    /// names it, `leadsFrom` the path that leads there when it is not `lexical`) and its ancestors up to the home
    /// directory or `/`, then every other directory the walk looked a component up in (not above home).
    static func problems(
        of walk: Walk, first: String, firstIsTarget: Bool, lexical: String, home: String?, leadsFrom: String? = nil
    ) -> [DirectoryProblem] {
        let realHome = home.flatMap { try? Sys.realpath($0) }
        var problems: [DirectoryProblem] = []
        var checked = Set<String>()
        var current = first
        var isFirst = firstIsTarget
        while true {
            checked.insert(current)
            let link = isFirst && current != lexical ? " (where \(leadsFrom ?? lexical) leads)" : ""
            problems += check(current, note: link, stickyExcused: !isFirst)
            if current == realHome || current == "/" { break }
            current = ProtectedFile.directoryName(current)
            isFirst = false
        }
        for (directory, link) in walk.holding where !checked.contains(directory) {
            checked.insert(directory)
            // Above the home directory: not Keyway's business (ssh stops at the home directory too).
            if let realHome, realHome.hasPrefix(directory == "/" ? "/" : directory + "/") { continue }
            problems += check(
                directory, note: link.map { " (it holds the symbolic link \($0))" } ?? "", stickyExcused: true)
        }
        return problems
    }

    /// The problems of one directory.
    static func check(_ current: String, note: String, stickyExcused: Bool) -> [DirectoryProblem] {
        guard let st = try? Sys.statFollowingLinks(current), FileMode.isDirectory(st) else { return [] }
        let me = Sys.effectiveUserID
        let why = "another user could delete, replace or roll back Keyway's files in it"
        var problems: [DirectoryProblem] = []
        if st.st_uid != me && st.st_uid != 0 {
            problems.append(
                DirectoryProblem(
                    path: current, kind: .foreignOwner(uid: UInt32(st.st_uid)),
                    message: "The directory \(current)\(note) is owned by user \(st.st_uid), not by you (\(me)) "
                        + "or root: \(why).",
                    fix: "Keep Keyway's files in a directory of your own (KEYWAY_CONFIG_DIR), or have "
                        + "\(ProtectedFile.shellQuoted(current)) given to you (chown)."))
        }
        // Sticky: others may add entries but not remove or rename ours (the owner is checked above).
        let sticky = st.st_mode & 0o1000 != 0 && stickyExcused
        if st.st_mode & 0o022 != 0 && !sticky {
            problems.append(
                DirectoryProblem(
                    path: current, kind: .writable(mode: UInt32(st.st_mode & 0o7777)),
                    message: "The directory \(current)\(note) has permissions \(FileMode.octal(st.st_mode)), "
                        + "which let group or others write it: \(why).",
                    fix: "chmod go-w \(ProtectedFile.shellQuoted(current))"))
        }
        return problems
    }

    /// Checks every directory in `directories` and the directories leading to every file in `files` (their chains,
    /// each problem once): a warning for each problem, or in strict mode an error for the first.
    public static func check(
        _ directories: [String], files: [String] = [], home: String?, strict: Bool, warn: WarningHandler?
    ) throws(KeywayError) {
        var seen = Set<String>()
        let all = directories.map { problems(for: $0, home: home) } + files.map { problems(forFile: $0, home: home) }
        for list in all {
            for problem in list where seen.insert(problem.path + "\0" + "\(problem.kind)").inserted {
                if strict {
                    let code: KeywayError.Code = {
                        if case .foreignOwner = problem.kind { return .foreignOwner }
                        return .insecurePermissions
                    }()
                    throw KeywayError(
                        code, problem.message + " Strict mode refuses it. Fix: " + problem.fix, path: problem.path)
                }
                warn?(KeywayWarning(.insecureDirectory, problem.message + " Fix: " + problem.fix))
            }
        }
    }
}

extension KeywayError.Code {
    /// A file changed between two looks at it (`removeIfUnchanged`), so Keyway did not act on it.
    public static let fileChanged = Self(rawValue: "file-changed")
}

extension KeywayWarning.Code {
    /// A directory leading to Keyway's files is owned by another user or writable by group or others.
    public static let insecureDirectory = Self(rawValue: "insecure-directory")
}
