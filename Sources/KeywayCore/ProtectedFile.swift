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
///   `chmod 600` fix, or in strict mode an error.
///
/// Writing (`update`): an exclusive `flock` on `<file>.lock` serializes writers across processes; the new contents go
/// to a temporary file in the same directory opened `O_CREAT|O_EXCL|O_NOFOLLOW` mode 0600, which is fsynced, renamed
/// over the file, and the directory fsynced. Missing directories are created 0700. A symlinked file is replaced at its
/// target, so the link survives.
public struct ProtectedFile: Sendable {
    public let path: String
    public let strict: Bool
    public let warn: WarningHandler?

    public init(path: String, strict: Bool = false, warn: WarningHandler? = nil) {
        self.path = path
        self.strict = strict
        self.warn = warn
    }

    /// The contents, or nil when the file does not exist.
    public func read() throws(KeywayError) -> [UInt8]? {
        guard let fd = try openChecked(path) else { return nil }
        defer { Sys.close(fd) }
        do throws(Errno) {
            return try Sys.readAll(fd)
        } catch {
            throw KeywayError(.io, "Cannot read \(path): \(error).", path: path)
        }
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
        let directory = ProtectedFile.directoryName(target)
        try ProtectedFile.ensureDirectory(directory)
        let lock = try acquireLock(target + ".lock")
        defer { Sys.close(lock) }
        let current: [UInt8]?
        if let fd = try openChecked(target) {
            defer { Sys.close(fd) }
            do throws(Errno) { current = try Sys.readAll(fd) } catch {
                throw KeywayError(.io, "Cannot read \(target): \(error).", path: target)
            }
        } else {
            current = nil
        }
        let (contents, result) = try body(current)
        if let contents { try ProtectedFile.replace(target, with: contents) }
        return result
    }

    // MARK: - Checks

    /// Where writes go: the path itself, or for a symbolic link that passes the checks, its target.
    func resolvedTarget() throws(KeywayError) -> String {
        let st: FileStatus?
        do throws(Errno) { st = try Sys.lstat(path) } catch { throw KeywayError(.io, "Cannot examine \(path): \(error).", path: path) }
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

    /// Opens `file` for reading after the checks; nil when it does not exist.
    func openChecked(_ file: String) throws(KeywayError) -> Int32? {
        let st: FileStatus?
        do throws(Errno) { st = try Sys.lstat(file) } catch { throw KeywayError(.io, "Cannot examine \(file): \(error).", path: file) }
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
        do throws(Errno) { st = try Sys.fstat(fd) } catch { throw KeywayError(.io, "Cannot examine \(name): \(error).", path: name) }
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
            throw KeywayError(.io, "Cannot write \(target): \(error). The previous file, if any, is unchanged.", path: target)
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
                throw KeywayError(.invalidInput, "\(target) already exists; Keyway will not overwrite it.", path: target)
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
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "/._-+,:@%".unicodeScalars.contains(scalar)
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

// MARK: - The directories above a secret

/// A directory on the way to Keyway's files that another user could use to delete, replace or roll back them.
public struct DirectoryProblem: Sendable, Equatable {
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

/// Checks the directories that lead to a secret the way OpenSSH's StrictModes checks `~/.ssh`: each directory from
/// the one holding the files up to and including the home directory — up to `/` when it is not under the home
/// directory — must be owned by the user or root and not writable by group or others. An ancestor (never the
/// directory itself) that is sticky, such as `/tmp`, may be writable by others: the sticky bit keeps them from
/// removing or renaming what they do not own. Symbolic links are resolved first, so a link to a
/// directory owned by another user is caught. A directory that does not exist yet is checked from its nearest
/// existing ancestor (Keyway creates the missing ones with mode 0700).
public enum DirectoryChain {
    /// The problems of the directories leading to `directory`, nearest first; empty when all is well or when the
    /// chain cannot be examined (the file operations then report their own errors).
    public static func problems(for directory: String, home: String?) -> [DirectoryProblem] {
        var existing = directory
        while (try? Sys.lstat(existing)) == nil {
            let parent = ProtectedFile.directoryName(existing)
            if parent == existing { return [] }
            existing = parent
        }
        guard let real = try? Sys.realpath(existing) else { return [] }
        let realHome = home.flatMap { try? Sys.realpath($0) }
        let me = Sys.effectiveUserID
        var problems: [DirectoryProblem] = []
        var current = real
        // The directory itself, when it exists; else its nearest existing ancestor, which may be sticky like /tmp.
        var isFirst = existing == directory
        while true {
            guard let st = try? Sys.statFollowingLinks(current), FileMode.isDirectory(st) else { return problems }
            let link = isFirst && real != existing ? " (where \(existing) leads)" : ""
            let why = "another user could delete, replace or roll back Keyway's files in it"
            if st.st_uid != me && st.st_uid != 0 {
                problems.append(
                    DirectoryProblem(
                        path: current, kind: .foreignOwner(uid: UInt32(st.st_uid)),
                        message: "The directory \(current)\(link) is owned by user \(st.st_uid), not by you (\(me)) "
                            + "or root: \(why).",
                        fix: "Keep Keyway's files in a directory of your own (KEYWAY_CONFIG_DIR), or have "
                            + "\(ProtectedFile.shellQuoted(current)) given to you (chown)."))
            }
            // Sticky: others may add entries but not remove or rename ours (the owner is checked above).
            let sticky = st.st_mode & 0o1000 != 0 && !isFirst
            if st.st_mode & 0o022 != 0 && !sticky {
                problems.append(
                    DirectoryProblem(
                        path: current, kind: .writable(mode: UInt32(st.st_mode & 0o7777)),
                        message: "The directory \(current)\(link) has permissions \(FileMode.octal(st.st_mode)), "
                            + "which let group or others write it: \(why).",
                        fix: "chmod go-w \(ProtectedFile.shellQuoted(current))"))
            }
            if current == realHome || current == "/" { return problems }
            current = ProtectedFile.directoryName(current)
            isFirst = false
        }
    }

    /// Checks every directory in `directories` (their chains, each problem once): a warning for each problem, or in
    /// strict mode an error for the first.
    public static func check(
        _ directories: [String], home: String?, strict: Bool, warn: WarningHandler?
    ) throws(KeywayError) {
        var seen = Set<String>()
        for directory in directories {
            for problem in problems(for: directory, home: home)
            where seen.insert(problem.path + "\0" + problem.message).inserted {
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

extension KeywayWarning.Code {
    /// A directory leading to Keyway's files is owned by another user or writable by group or others.
    public static let insecureDirectory = Self(rawValue: "insecure-directory")
}
