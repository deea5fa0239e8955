internal import CKeywayPlatform
import Glibc

/// A POSIX error number with a readable name, as swift-system's `Errno`.
package struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static var current: Errno { Errno(errno) }

    public static let noEntry = Errno(ENOENT)
    public static let exists = Errno(EEXIST)
    public static let interrupted = Errno(EINTR)
    public static let loop = Errno(ELOOP)
    public static let accessDenied = Errno(EACCES)
    public static let notDirectory = Errno(ENOTDIR)

    /// The C name (`ENOENT`) and the system's message.
    public var description: String {
        let message = String(cString: strerror(rawValue))
        if let name = Errno.names[rawValue] { return "\(message) (\(name))" }
        return "\(message) (errno \(rawValue))"
    }

    private static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", EBADF: "EBADF", EAGAIN: "EAGAIN",
        ENOMEM: "ENOMEM", EACCES: "EACCES", EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV", ENOTDIR: "ENOTDIR",
        EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ENOSPC: "ENOSPC", EROFS: "EROFS",
        ELOOP: "ELOOP", ENAMETOOLONG: "ENAMETOOLONG", EDQUOT: "EDQUOT", ENOTEMPTY: "ENOTEMPTY", ETXTBSY: "ETXTBSY",
        EFBIG: "EFBIG", EPIPE: "EPIPE",
    ]
}

/// Thin wrappers around the system calls Keyway uses: each retries on EINTR and throws `Errno`.
package enum Sys {
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ body: () -> T) throws(Errno) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let error = errno
            if error != EINTR { throw Errno(error) }
        }
    }

    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(Errno) -> Int32 {
        try retrying { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    public static func openat(_ dirfd: Int32, _ name: String, _ flags: Int32, _ mode: mode_t = 0) throws(Errno) -> Int32
    {
        try retrying { Glibc.openat(dirfd, name, flags | O_CLOEXEC, mode) }
    }

    /// Closes a descriptor. EINTR is not retried: on Linux the descriptor is gone either way.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    public static func fstat(_ fd: Int32) throws(Errno) -> FileStatus {
        var st = FileStatus()
        _ = try retrying { Glibc.fstat(fd, &st) }
        return st
    }

    /// `lstat`; returns nil when the path does not exist.
    public static func lstat(_ path: String) throws(Errno) -> FileStatus? {
        try lstat(path, in: AT_FDCWD)
    }

    /// `stat` (follows links); returns nil when the path does not exist.
    public static func statFollowingLinks(_ path: String) throws(Errno) -> FileStatus? {
        var st = FileStatus()
        do throws(Errno) {
            _ = try retrying { fstatat(AT_FDCWD, path, &st, 0) }
        } catch {
            if error == .noEntry { return nil }
            throw error
        }
        return st
    }

    /// Reads the whole descriptor from its current offset, straight into one buffer sized from `fstat` for a regular
    /// file (grown by doubling otherwise).
    public static func readAll(_ fd: Int32) throws(Errno) -> [UInt8] { try readAll(fd, limit: nil) }

    /// `readAll(_:)`; with `limit`, stops once it holds more than `limit` bytes: the result then
    /// has `limit + 1` bytes (so the caller can tell "too long" from "exactly the limit") and the rest is left unread.
    public static func readAll(_ fd: Int32, limit: Int?) throws(Errno) -> [UInt8] {
        let most = limit.map { $0 + 1 } ?? Int.max
        var capacity = 65536
        if let st = try? fstat(fd), FileMode.isRegular(st) { capacity = Int(st.st_size) + 1 }
        var result = [UInt8](repeating: 0, count: min(capacity, most))
        var filled = 0
        while filled < most {
            if filled == result.count {
                result.append(contentsOf: repeatElement(0, count: min(result.count, most - result.count)))
            }
            let n = try retrying {
                result.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            }
            if n == 0 { break }
            filled += n
        }
        result.removeSubrange(filled...)
        return result
    }

    /// Reads from the current offset to the end, but never more than `limit` bytes: nil when the descriptor holds
    /// more (the buffer never grows past `limit + 1` bytes, whatever `fstat` claims or the file grows to).
    public static func readAll(_ fd: Int32, limit: Int) throws(Errno) -> [UInt8]? {
        var capacity = 65536
        if let st = try? fstat(fd), FileMode.isRegular(st) { capacity = Int(st.st_size) + 1 }
        capacity = max(1, min(capacity, limit + 1))
        var result = [UInt8](repeating: 0, count: capacity)
        var filled = 0
        while true {
            if filled == result.count {
                guard result.count <= limit else { return nil }
                result.append(contentsOf: repeatElement(0, count: min(result.count, limit + 1 - result.count)))
            }
            let n = try retrying {
                result.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            }
            if n == 0 { break }
            filled += n
        }
        guard filled <= limit else { return nil }
        result.removeSubrange(filled...)
        return result
    }

    /// Up to `count` bytes from `offset` (fewer at the end of the file), without moving the descriptor's offset.
    public static func pread(_ fd: Int32, count: Int, offset: Int) throws(Errno) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try retrying {
                result.withUnsafeMutableBytes {
                    Glibc.pread(fd, $0.baseAddress! + filled, count - filled, off_t(offset + filled))
                }
            }
            if n == 0 { break }
            filled += n
        }
        result.removeSubrange(filled...)
        return result
    }

    /// Opens the directory `root` (following symbolic links: it is the caller's choice), then each component of
    /// `relative` in turn with `openat(O_DIRECTORY | O_NOFOLLOW)`, so no symbolic link on the way is followed and
    /// nothing outside `root` is reached. Throws `ELOOP` when a component is a symbolic link, `ENOTDIR` when it is
    /// something else that is not a directory, `EINVAL` for an empty, `.` or `..` component. The caller closes the descriptor.
    public static func openDirectory(_ relative: some Collection<Substring>, beneath root: String) throws(Errno)
        -> Int32
    {
        var fd = try open(root, O_RDONLY | O_DIRECTORY | O_NOCTTY)
        for component in relative {
            guard !component.isEmpty, component != ".", component != ".." else {
                close(fd)
                throw Errno(EINVAL)
            }
            do throws(Errno) {
                let next = try openat(fd, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY)
                close(fd)
                fd = next
            } catch {
                // Linux answers ENOTDIR for a symbolic link opened with O_DIRECTORY | O_NOFOLLOW: say which it was.
                var linked = false
                if error == .notDirectory, let st = try? lstat(String(component), in: fd) {
                    linked = FileMode.isSymlink(st)
                }
                close(fd)
                throw linked ? Errno.loop : error
            }
        }
        return fd
    }

    /// `fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)`: what `name` in that directory (`AT_FDCWD`: the working
    /// directory) is, a symbolic link included; nil when it does not exist.
    public static func lstat(_ name: String, in dirfd: Int32) throws(Errno) -> FileStatus? {
        var st = FileStatus()
        do throws(Errno) {
            _ = try retrying { fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) }
        } catch {
            if error == .noEntry { return nil }
            throw error
        }
        return st
    }

    /// Writes every byte, retrying short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let n = try retrying {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += n
        }
    }

    public static func fsync(_ fd: Int32) throws(Errno) {
        _ = try retrying { Glibc.fsync(fd) }
    }

    public static func fchmod(_ fd: Int32, _ mode: mode_t) throws(Errno) {
        _ = try retrying { Glibc.fchmod(fd, mode) }
    }

    public static func rename(_ from: String, _ to: String) throws(Errno) {
        _ = try retrying { Glibc.rename(from, to) }
    }

    /// A hard link; fails with `EEXIST` when `to` exists.
    public static func link(_ from: String, _ to: String) throws(Errno) {
        _ = try retrying { Glibc.link(from, to) }
    }

    public static func unlink(_ path: String) throws(Errno) {
        _ = try retrying { Glibc.unlink(path) }
    }

    public static func mkdir(_ path: String, _ mode: mode_t) throws(Errno) {
        _ = try retrying { Glibc.mkdir(path, mode) }
    }

    public static func chmod(_ path: String, _ mode: mode_t) throws(Errno) {
        _ = try retrying { Glibc.chmod(path, mode) }
    }

    /// An exclusive advisory lock on the whole file; blocks until granted.
    public static func lockExclusive(_ fd: Int32) throws(Errno) {
        _ = try retrying { keyway_flock(fd, LOCK_EX) }
    }

    public static func realpath(_ path: String) throws(Errno) -> String {
        guard let resolved = Glibc.realpath(path, nil) else { throw Errno.current }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public static var effectiveUserID: uid_t { geteuid() }

    /// The working directory, or nil when it cannot be determined (removed, too long).
    public static func currentDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Fills `count` bytes from the kernel's random source.
    public static func randomBytes(_ count: Int) throws(Errno) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try retrying {
                bytes.withUnsafeMutableBytes { keyway_getrandom($0.baseAddress! + filled, UInt(count - filled), 0) }
            }
            filled += n
        }
        return bytes
    }

    /// The value of an environment variable, or nil when unset.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// The names of the process environment's variables whose values are not valid UTF-8 (decoding repairs them
    /// with U+FFFD, which would turn a key into a different key).
    public static func environmentNamesWithInvalidUTF8() -> Set<String> {
        var result = Set<String>()
        var pointer = environ
        while let entry = pointer.pointee {
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                let text = UnsafeBufferPointer(start: bytes, count: length)
                // Fast path: ASCII, which nearly every variable is.
                if !text.contains(where: { $0 >= 0x80 }) { return }
                if let eq = text.firstIndex(of: UInt8(ascii: "=")),
                    String(validating: text[(eq + 1)...], as: UTF8.self) == nil
                {
                    result.insert(String(decoding: text[..<eq], as: UTF8.self))
                }
            }
            pointer += 1
        }
        return result
    }

    /// The command line's arguments (after the program name) as raw bytes, before any UTF-8 repair.
    public static func rawArguments() -> [[UInt8]] {
        (1..<Int(CommandLine.argc)).map { i in
            guard let argument = CommandLine.unsafeArgv[i] else { return [] }
            return Array(
                UnsafeBufferPointer(
                    start: UnsafeRawPointer(argument).assumingMemoryBound(to: UInt8.self), count: strlen(argument)))
        }
    }

    /// The process environment as name/value pairs, in the order the C library keeps them.
    public static func environment() -> [(String, String)] {
        var result: [(String, String)] = []
        var pointer = environ
        while let entry = pointer.pointee {
            // Split at the first `=` byte (not by Characters: this runs at every start-up).
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                let text = UnsafeBufferPointer(start: bytes, count: length)
                if let eq = text.firstIndex(of: UInt8(ascii: "=")) {
                    result.append(
                        (
                            String(decoding: text[..<eq], as: UTF8.self),
                            String(decoding: text[(eq + 1)...], as: UTF8.self)
                        ))
                }
            }
            pointer += 1
        }
        return result
    }

    /// The user's home directory: `$HOME`, else the password database.
    public static func homeDirectory() -> String? {
        if let home = environment("HOME"), !home.isEmpty { return home }
        guard let entry = getpwuid(geteuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }
}

package typealias FileStatus = Glibc.stat

/// File-mode helpers.
package enum FileMode {
    public static func isRegular(_ st: FileStatus) -> Bool { (st.st_mode & S_IFMT) == S_IFREG }
    public static func isDirectory(_ st: FileStatus) -> Bool { (st.st_mode & S_IFMT) == S_IFDIR }
    public static func isSymlink(_ st: FileStatus) -> Bool { (st.st_mode & S_IFMT) == S_IFLNK }
    /// The permission bits as four octal digits, e.g. `0644`.
    public static func octal(_ mode: mode_t) -> String {
        let bits = Int(mode & 0o7777)
        let digits = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
