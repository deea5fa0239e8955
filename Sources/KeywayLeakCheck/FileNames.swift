import Glibc
import KeywayCore

/// File names as leak-check keeps them: one text per name, whatever its bytes, from which the bytes can be had
/// back. A name that is valid UTF-8 and holds no backslash is its own text; any other (bytes that are not UTF-8, a
/// backslash) has every byte that is not printable ASCII, and every backslash, written `\xNN` (`key\xff.txt`). The
/// text is therefore unique to the name (an escaped text always holds a backslash, a plain one never does), and
/// `bytes` recovers the name exactly: files are opened by their own bytes, paths git lists (`-z`, as bytes) and
/// paths read from a directory agree, and SARIF URIs percent-encode the real bytes.
enum FileNames {
    /// The text of a name or path given as bytes (a slash stays a slash).
    static func text(_ bytes: some Collection<UInt8>) -> String {
        if !bytes.contains(92), let valid = String(validating: bytes, as: UTF8.self) { return valid }
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        for b in bytes {
            if b >= 32 && b < 127 && b != 92 {
                out.append(b)
            } else {
                out += [92, 120, hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of a name or path whose text is `text` (the inverse of `text(_:)`).
    static func bytes(_ text: some StringProtocol) -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.contains(92) else { return utf8 }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            if utf8[i] == 92, i + 3 < utf8.count, utf8[i + 1] == 120, let high = value(utf8[i + 2]),
                let low = value(utf8[i + 3])
            {
                out.append(high << 4 | low)
                i += 4
            } else {
                out.append(utf8[i])
                i += 1
            }
        }
        return out
    }

    /// Whether the text of a name is escaped (the name is not valid UTF-8, or holds a backslash).
    static func isEscaped(_ text: some StringProtocol) -> Bool { text.utf8.contains(92) }

    /// A shell word for a path: `ProtectedFile.shellQuoted` for a plain one, `$'...'` (bash, zsh, ksh: the escapes
    /// stand for the name's own bytes) for an escaped one.
    static func shellWord(_ text: String) -> String {
        guard isEscaped(text) else { return ProtectedFile.shellQuoted(text) }
        let hex = Array("0123456789abcdef".utf8)
        var out = Array("$'".utf8)
        for b in bytes(text) {
            if b >= 32 && b < 127 && b != 92 && b != 39 {
                out.append(b)
            } else {
                out += [92, 120, hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out + [39], as: UTF8.self)
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)` of the name `name` (bytes) in `dirfd`; nil when it does not exist.
    static func lstat(_ name: [UInt8], in dirfd: Int32) throws(Errno) -> FileStatus? {
        var st = FileStatus()
        let result = withCString(name) { fstatat(dirfd, $0, &st, AT_SYMLINK_NOFOLLOW) }
        guard result == 0 else {
            let error = Errno.current
            if error == .noEntry { return nil }
            throw error
        }
        return st
    }

    /// `openat(dirfd, name, flags | O_CLOEXEC)` of the name `name` (bytes), retried on EINTR.
    static func openat(_ dirfd: Int32, _ name: [UInt8], _ flags: Int32) throws(Errno) -> Int32 {
        while true {
            let fd = withCString(name) { Glibc.openat(dirfd, $0, flags | O_CLOEXEC) }
            if fd >= 0 { return fd }
            let error = Errno.current
            if error.rawValue != EINTR { throw error }
        }
    }

    /// The directory `components` (names as bytes) lead to beneath the directory `root`, each opened with
    /// `O_DIRECTORY | O_NOFOLLOW` (`Sys.openDirectory(_:beneath:)` for names of any bytes): `ELOOP` when one is a
    /// symbolic link.
    static func openDirectory(_ components: [ArraySlice<UInt8>], beneath root: String) throws(Errno) -> Int32 {
        var fd = try Sys.open(root, O_RDONLY | O_DIRECTORY | O_NOCTTY)
        for component in components {
            let name = Array(component)
            guard !name.isEmpty, name != [46], name != [46, 46] else {
                Sys.close(fd)
                throw Errno(EINVAL)
            }
            do throws(Errno) {
                let next = try openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY)
                Sys.close(fd)
                fd = next
            } catch {
                var linked = false
                if error == .notDirectory, let st = try? lstat(name, in: fd) { linked = FileMode.isSymlink(st) }
                Sys.close(fd)
                throw linked ? Errno.loop : error
            }
        }
        return fd
    }

    private static func withCString<R>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (name + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }
}
