import Glibc
import KeywayCore

/// The PATHs given: files and directories walked without following links, and the repositories they are in.
extension LeakChecker {
    /// The repository of the working directory, whole (the pre-commit check without PATH).
    func scanCurrentRepository() {
        guard let repository = currentRepository else {
            fail("\(options.workingDirectory) is not inside a git repository, so it has no staged changes.")
            return
        }
        scanRepository(repository, prefix: nil)
    }

    /// The root of the repository the working directory is in (the directory itself may be that root).
    var currentRepository: String? {
        Git.repository(
            containingDirectory: options.workingDirectory, environment: gitEnvironment,
            workingDirectory: options.workingDirectory)?.root
    }

    /// One PATH the user named. A symbolic link the user names (the PATH itself, or a directory on its way) is the
    /// user's choice: its target is scanned as the root, and a note says so. Links beneath that root are never
    /// followed. A PATH that is neither a directory nor a regular file (a FIFO, a device, a link to nothing) is an
    /// error: nothing named is skipped silently.
    func scanPath(_ typed: String) {
        var path = typed
        if let st = try? Sys.lstat(path) {
            let real = try? Sys.realpath(path)
            if real == nil, FileMode.isSymlink(st) {
                fail("\(path) is a symbolic link whose target does not exist or cannot be read: nothing was scanned.")
                return
            }
        }
        if let real = try? Sys.realpath(path), real != path {
            report.notes.append(
                "\(path) is, or goes through, a symbolic link: its target \(real) was scanned (leak-check follows "
                    + "the links a PATH names, none beneath it).")
            path = real
        }
        guard let st = try? Sys.lstat(path) else {
            fail("\(path) does not exist or cannot be read.")
            return
        }
        guard FileMode.isDirectory(st) || FileMode.isRegular(st) else {
            fail("\(path) is not a directory or a regular file (a FIFO, socket or device): it was not scanned.")
            return
        }
        if FileMode.isDirectory(st), (try? Sys.lstat(path + "/.git")) != nil {
            scanRepository(path, prefix: nil)
            return
        }
        if FileMode.isDirectory(st), Self.isBareRepository(path) {
            scanBareRepository(path)
            return
        }
        let repository =
            FileMode.isDirectory(st)
            ? Git.repository(
                containingDirectory: path, environment: gitEnvironment, workingDirectory: options.workingDirectory)
            : Git.repository(
                containingFile: path, environment: gitEnvironment, workingDirectory: options.workingDirectory)
        if let repository {
            let relative = Finding.relative(FileMode.isDirectory(st) ? path : path, to: repository.root)
            scanRepository(repository.root, prefix: relative == repository.root ? nil : relative)
            return
        }
        if options.staged {
            fail("\(path) is not inside a git repository, so it has no staged changes.")
            return
        }
        scanWithoutGit(path, status: st)
    }

    /// A directory or file scanned as files outside any repository (repositories found beneath a directory are
    /// scanned as repositories). With `skippingGit`, the directory's own `.git` is left out.
    func scanWithoutGit(_ path: String, status st: FileStatus, skippingGit: Bool = false) {
        if FileMode.isDirectory(st) {
            do throws(Errno) {
                walk(try Sys.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY), path, skippingGit: skippingGit)
            } catch {
                fail("Cannot read the directory \(path): \(error).")
            }
        } else if FileMode.isRegular(st) {
            do throws(Errno) {
                let parent = try Sys.open(ProtectedFile.directoryName(path), O_RDONLY | O_DIRECTORY | O_NOCTTY)
                defer { Sys.close(parent) }
                scanLooseFile(in: parent, Array(ProtectedFile.baseName(path).utf8), path: path, status: st)
            } catch {
                fail("Cannot read \(path): \(error).")
            }
        }
    }

    /// A directory that belongs to no repository (`fd`, which this closes): its files are scanned; each
    /// repository found under it is scanned as a repository. Every entry is opened relative to its directory with
    /// `O_NOFOLLOW`: a symbolic link is never followed.
    func walk(_ fd: Int32, _ directory: String, skippingGit: Bool = false) {
        guard let dir = fdopendir(fd) else {
            fail("Cannot read the directory \(directory): \(Errno.current).")
            Sys.close(fd)
            return
        }
        defer { closedir(dir) }
        // Every name is kept as its bytes, opened by them and shown as its `FileNames` text (a name that is not
        // valid UTF-8: `key\xff.txt`).
        var entries: [(name: [UInt8], text: String)] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: UInt8.self, capacity: 256) {
                    Array(
                        UnsafeBufferPointer(
                            start: $0, count: strlen(UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))))
                }
            }
            if bytes == [46] || bytes == [46, 46] || (skippingGit && bytes == Array(".git".utf8)) { continue }
            entries.append((bytes, FileNames.text(bytes)))
        }
        let parent = dirfd(dir)
        for (name, text) in entries.sorted(by: { $0.text < $1.text }) {
            let path = directory == "/" ? "/" + text : directory + "/" + text
            guard let st = try? FileNames.lstat(name, in: parent) else { continue }
            if FileMode.isDirectory(st) {
                let child: Int32
                do throws(Errno) {
                    child = try FileNames.openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY)
                } catch {
                    if error != .loop && error != .noEntry && error != .notDirectory {
                        fail("Cannot read the directory \(path): \(error).")
                    }
                    continue
                }
                if (try? Sys.lstat(".git", in: child)) != nil {
                    // git is given a repository by its path: one whose path is not text (a name on the way is not
                    // valid UTF-8) cannot be, and its files are scanned as files outside any repository.
                    guard case .some(.some) = try? Sys.lstat(path) else {
                        report.notScanned.append(
                            "Not scanned as a repository: \(path), since a name on its path is not valid UTF-8 (git "
                                + "cannot be given it). Its files were scanned as files outside any repository; its "
                                + "index and history were not.")
                        walk(child, path, skippingGit: true)
                        continue
                    }
                    Sys.close(child)
                    scanRepository(path, prefix: nil)
                } else if Self.isBareRepository(path) {
                    Sys.close(child)
                    scanBareRepository(path)
                } else {
                    walk(child, path)
                }
            } else if FileMode.isRegular(st) {
                scanLooseFile(in: parent, name, path: path, status: st)
            }
        }
    }

    /// A file outside any repository: `name` in the directory `parent`, whose `lstat` is `status`.
    func scanLooseFile(in parent: Int32, _ name: [UInt8], path: String, status: FileStatus) {
        let credentials = isCredentialsFileName(FileNames.text(name))
        if credentials {
            checkPermissions(status, path: path, repository: nil, git: nil)
        }
        guard let bytes = readRegularFile(in: parent, name, path: path, status: status) else { return }
        if !credentials, Self.isCredentialsContent(bytes) {
            checkPermissions(status, path: path, repository: nil, git: nil)
        }
        scanContent(bytes, path: path, repository: nil, git: nil, commit: nil)
    }

    /// A bare repository (a mirror, a server's copy): `HEAD`, `config`, `objects/` and `refs/` at its top and no
    /// `.git`.
    static func isBareRepository(_ path: String) -> Bool {
        guard let head = try? Sys.lstat(path + "/HEAD"), FileMode.isRegular(head),
            let config = try? Sys.lstat(path + "/config"), FileMode.isRegular(config),
            let objects = try? Sys.lstat(path + "/objects"), FileMode.isDirectory(objects),
            let refs = try? Sys.lstat(path + "/refs"), FileMode.isDirectory(refs)
        else { return false }
        return true
    }

    /// A bare repository has no work tree and no index: with `--history` its history is scanned (every ref, as
    /// for any repository); without, a note says it was not scanned; with `--staged` it is an error.
    func scanBareRepository(_ root: String) {
        guard seen.insert("repository\0" + root + "\0").inserted else { return }
        if options.staged {
            fail("\(root) is a bare repository (no index, no work tree): --staged has nothing to check there.")
            return
        }
        guard options.history else {
            report.notScanned.append(
                "Not scanned: \(root) is a bare repository (a mirror or a server's copy): it has no work tree, only "
                    + "history; run with --history to scan it.")
            return
        }
        if let st = try? Sys.lstat(root), st.st_uid != Sys.effectiveUserID {
            report.notes.append(
                "\(root) belongs to uid \(st.st_uid), not to you: it was read with git's hooks, filters, fsmonitor "
                    + "and external commands disabled.")
        }
        scannedRepositories.insert(root)
        let runner = GitRunner(root: root, timeout: gitTimeout)
        do throws(KeywayError) {
            try scanHistory(runner, prefix: nil, tracked: [], bare: true)
        } catch {
            fail(error.message)
        }
    }

    /// Whether a file's content makes it a credentials file whatever its name: a Google service-account key
    /// (`"type": "service_account"` with a `"private_key"`).
    static func isCredentialsContent(_ bytes: [UInt8]) -> Bool {
        // A JSON object: the first byte that is not white space is `{`.
        guard
            bytes.first(where: { $0 != 32 && $0 != 9 && $0 != 10 && $0 != 13 && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF }
            ) == 123
        else { return false }
        let head = Array(bytes.prefix(64 * 1024))
        return Randomness.contains(head, Array("\"service_account\"".utf8))
            && Randomness.contains(head, Array("\"private_key\"".utf8))
    }

    /// What `relative` is beneath the directory `reader` opens, examined without following a symbolic link in any
    /// component. Nil when it does not exist (a tracked file deleted from the working tree), when a directory on
    /// the way is a symbolic link (listed in a note), or when it cannot be examined (an error).
    func examine(_ reader: BeneathReader, _ relative: String, path: String) -> BeneathReader.Entry? {
        do throws(Errno) {
            return try reader.entry(relative)
        } catch {
            if error == .loop {
                behindLinks.append(path)
            } else if error != .noEntry && error != .notDirectory {
                fail("Cannot read \(path): \(error).")
            }
            return nil
        }
    }

    /// The bytes of a regular file, `name` in the directory `parent` (never a FIFO, device or symbolic link, and
    /// never more than the size limit: a larger file is listed in a note and not read; of a binary file, only the
    /// first bytes that show it is binary); nil with an error recorded when it cannot be read, nil silently when it
    /// is not a regular file.
    func readRegularFile(in parent: Int32, _ name: [UInt8], path: String, status: FileStatus) -> [UInt8]? {
        guard FileMode.isRegular(status) else { return nil }
        guard Int(status.st_size) <= options.maximumFileSize else {
            oversized.append((path, Int(status.st_size)))
            return nil
        }
        let fd: Int32
        do throws(Errno) {
            fd = try FileNames.openat(parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        } catch {
            if error == .loop || error == .noEntry { return nil }
            fail("Cannot read \(path): \(error).")
            return nil
        }
        defer { Sys.close(fd) }
        guard let st = try? Sys.fstat(fd), FileMode.isRegular(st) else { return nil }
        do throws(Errno) {
            // Binary is decided from the first bytes: a binary file is not read further.
            let head = try Sys.pread(fd, count: ContentScanner.binaryCheckLength, offset: 0)
            if ContentScanner.isBinary(head) { return head }
            guard let bytes = try Sys.readAll(fd, limit: options.maximumFileSize) else {
                oversized.append((path, max(Int(st.st_size), options.maximumFileSize + 1)))
                return nil
            }
            return bytes
        } catch {
            fail("Cannot read \(path): \(error).")
            return nil
        }
    }

    /// Reads blobs through git cat-file: their sizes first (`--batch-check`), then the contents of those within the
    /// size limit (`--batch`); larger ones are listed in a note (by `label`) and never read. Of a binary blob only
    /// the first bytes are kept, enough for `scanContent` to see it is binary.
    func readBlobs(
        _ runner: GitRunner, _ items: [(oid: String, label: String)],
        _ body: (Int, [UInt8]) throws(KeywayError) -> Void
    ) throws(KeywayError) {
        guard !items.isEmpty else { return }
        let check = try CatFileBatch(runner, checkOnly: true)
        let sizes: [(type: String, size: Int)?]
        do throws(KeywayError) {
            sizes = try check.info(items.map(\.oid))
        } catch {
            check.finish()
            throw error
        }
        check.finish()
        var wanted: [Int] = []
        for (index, info) in sizes.enumerated() {
            guard let info, info.type == "blob" else { continue }
            if info.size > options.maximumFileSize {
                oversized.append((items[index].label, info.size))
            } else {
                wanted.append(index)
            }
        }
        guard !wanted.isEmpty else { return }
        let batch = try CatFileBatch(runner)
        defer { batch.finish() }
        try batch.read(wanted.map { items[$0].oid }, maximumSize: options.maximumFileSize, skippingBinary: true) {
            position, bytes throws(KeywayError) in
            guard let bytes else { return }
            try body(wanted[position], bytes)
        }
    }

    static func sizeText(_ bytes: Int) -> String {
        if bytes >= 1 << 30 {
            // Whole GiB and the tenths of the rest, so that no size (up to Int.max) overflows.
            let tenths = (bytes >> 30) * 10 + ((bytes & (1 << 30 - 1)) * 10) >> 30
            return "\(tenths / 10).\(tenths % 10) GiB"
        }
        if bytes >= 1 << 20 { return "\(bytes >> 20) MiB" }
        return "\(bytes) bytes"
    }

    /// At most 20 items, then how many more.
    static func list(_ items: [String]) -> String {
        items.count <= 20
            ? items.joined(separator: ", ")
            : items.prefix(20).joined(separator: ", ") + " and \(items.count - 20) more"
    }
}
