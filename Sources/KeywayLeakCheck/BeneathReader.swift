import Glibc
import KeywayCore

/// Examines files beneath one directory without following a symbolic link in any component of their path: each
/// directory on the way is opened with `O_DIRECTORY | O_NOFOLLOW` (`Sys.openDirectory(_:beneath:)`) and the file is
/// examined with `fstatat(AT_SYMLINK_NOFOLLOW)` and opened with `openat(O_NOFOLLOW)` relative to its directory. The
/// last directory stays open, since git lists files directory by directory.
final class BeneathReader {
    struct Entry {
        /// The directory holding the entry; valid until the next call of `entry`.
        let parent: Int32
        /// The entry's name, its own bytes.
        let name: [UInt8]
        /// `lstat` of the entry: a symbolic link shows as one.
        let status: FileStatus
    }

    let root: String
    private var parentPath: [UInt8]?
    private var parentFD: Int32 = -1

    init(root: String) { self.root = root }

    deinit { if parentFD >= 0 { Sys.close(parentFD) } }

    /// `relative` (slash-separated, as git lists it, in the text `FileNames` gives names: an escaped name is opened
    /// by its own bytes). Throws `ELOOP` when a directory on the way is a symbolic link, `ENOENT` when the entry or
    /// a directory on the way does not exist, `ENOTDIR` when one is not a directory.
    func entry(_ relative: String) throws(Errno) -> Entry {
        let bytes = FileNames.bytes(relative)
        let slash = bytes.lastIndex(of: 47)
        let directory = slash.map { Array(bytes[..<$0]) } ?? []
        let name = slash.map { Array(bytes[($0 + 1)...]) } ?? bytes
        guard !name.isEmpty, name != [46], name != [46, 46] else { throw Errno(EINVAL) }
        if parentPath != directory {
            if parentFD >= 0 { Sys.close(parentFD) }
            parentFD = -1
            parentPath = nil
            parentFD = try FileNames.openDirectory(
                directory.isEmpty ? [] : directory.split(separator: 47, omittingEmptySubsequences: false),
                beneath: root)
            parentPath = directory
        }
        guard let st = try FileNames.lstat(name, in: parentFD) else { throw Errno.noEntry }
        return Entry(parent: parentFD, name: name, status: st)
    }

    /// Whether `relative` is a directory reached without a symbolic link that holds a `.git` entry (a nested
    /// repository, a submodule's checkout).
    func isRepository(_ relative: String) -> Bool {
        guard
            let fd = try? FileNames.openDirectory(
                FileNames.bytes(relative).split(separator: 47, omittingEmptySubsequences: false), beneath: root)
        else { return false }
        defer { Sys.close(fd) }
        return (try? Sys.lstat(".git", in: fd)) != nil
    }
}
