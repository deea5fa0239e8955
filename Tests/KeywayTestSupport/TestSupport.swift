import Glibc
import KeywayCore
import Synchronization

/// A directory under /tmp removed when the value is released.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "keyway-test") throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let result else { throw Errno.current }
        path = String(cString: result)
    }

    deinit { removeTree(path) }
}

/// Removes a file or directory tree (no symlink is followed).
public func removeTree(_ path: String) {
    guard let st = try? Sys.lstat(path) else { return }
    if FileMode.isDirectory(st), let dir = opendir(path) {
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        chmod(path, 0o700)
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// A thread-safe counter for unique names.
public final class Counter: Sendable {
    private let value = Mutex(0)
    public init() {}
    public func next() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}

/// Writes `text` to `path` with exactly `mode` (umask ignored), creating or truncating it.
public func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
    try writeFile(path, Array(text.utf8), mode: mode)
}

public func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
    let fd = try Sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    defer { Sys.close(fd) }
    try Sys.writeAll(fd, bytes)
    try Sys.fchmod(fd, mode)
}

/// The file's bytes, or nil when it does not exist.
public func readFile(_ path: String) throws -> [UInt8]? {
    let fd: Int32
    do { fd = try Sys.open(path, O_RDONLY) } catch  where error == .noEntry { return nil }
    defer { Sys.close(fd) }
    return try Sys.readAll(fd)
}

/// The permission bits of a path (not following a final symlink).
public func permissions(_ path: String) throws -> mode_t? {
    try Sys.lstat(path).map { $0.st_mode & 0o7777 }
}
