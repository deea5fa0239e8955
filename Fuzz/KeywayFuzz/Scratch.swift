import Glibc

/// A private directory for the targets whose parser reads a file (the vault, the baseline): in /dev/shm when there is
/// one, so an input costs a write to memory, not to disk. Removed at exit.
enum Scratch {
    nonisolated(unsafe) static var directory: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
        var template = Array("\(base)/keyway-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fail("cannot create a scratch directory in \(base)") }
        let path = String(cString: made)
        atexit { Scratch.removeAll() }
        return path
    }()

    /// `bytes` as the file `name` (mode 0600) in the scratch directory; returns its path.
    static func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fail("cannot write \(path)") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else { fail("cannot write \(path)") }
            offset += n
        }
        close(fd)
        return path
    }

    static func removeAll() {
        guard let dir = opendir(directory) else { return }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { unlink(directory + "/" + name) }
        }
        closedir(dir)
        rmdir(directory)
    }
}
