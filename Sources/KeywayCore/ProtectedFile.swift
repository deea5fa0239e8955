#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file that holds secrets: read with ownership, type and permission checks; written atomically under an exclusive
/// lock. Shared by every file-based backend.
///
/// Reading:
/// - a missing file reads as nil;
/// - a file owned by another user, or anything but a regular file, is refused;
/// - a symbolic link is followed only to a regular file owned by the user;
/// - group or other permission bits give a warning naming the file, its mode and the `chmod 600` fix, or in strict
///   mode an error.
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
