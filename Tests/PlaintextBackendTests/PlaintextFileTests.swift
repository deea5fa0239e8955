import KeywayCore
import KeywayPlaintext
import KeywayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

let sample = Credential(id: CredentialID(app: "reflex"), secret: Secret("rfx_0123456789abcdef0123456789"))

@Suite struct PlaintextFileTests {
    @Test func createsFileAndDirectoriesPrivately() throws {
        let dir = try TemporaryDirectory()
        let old = umask(0)
        defer { umask(old) }
        let path = dir.path + "/a/b/credentials.json"
        try PlaintextStore(path: path).write(sample)
        #expect(try permissions(path) == 0o600)
        #expect(try permissions(dir.path + "/a/b") == 0o700)
        #expect(try permissions(dir.path + "/a") == 0o700)
        #expect(try permissions(path + ".lock") == 0o600)
        // No temporary file is left behind.
        #expect(try listDirectory(dir.path + "/a/b").sorted() == ["credentials.json", "credentials.json.lock"])
    }

    @Test func rewritingRestoresMode0600() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        try PlaintextStore(path: path).write(sample)
        chmod(path, 0o644)
        try PlaintextStore(path: path).write(sample)
        #expect(try permissions(path) == 0o600)
    }

    @Test func groupReadableFileWarnsWithTheFix() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        try PlaintextStore(path: path).write(sample)
        chmod(path, 0o644)
        let log = WarningLog()
        let store = PlaintextStore(path: path, warn: log.handler)
        #expect(try store.read(sample.id) == sample)
        let warning = try #require(log.warnings.first)
        #expect(warning.code == .insecurePermissions)
        #expect(
            warning.message
                == "\(path) has permissions 0644, which let group or others access it. Fix with: chmod 600 \(path)")
        #expect(!warning.message.contains("rfx_0123"))
    }

    @Test func strictModeRefuses() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        try PlaintextStore(path: path).write(sample)
        chmod(path, 0o640)
        let store = PlaintextStore(path: path, strict: true)
        let error = try #require(throws: KeywayError.self) { try store.read(sample.id) }
        #expect(error.code == .insecurePermissions)
        #expect(error.message.contains("0640") && error.message.contains("chmod 600 \(path)"))
        #expect(throws: KeywayError.self) { try store.write(sample) }
    }

    @Test func groupWritableIsRefusedEvenWithoutStrictMode() throws {
        // Whoever can write the file can replace the key (review item 6): refused, not only warned about.
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        try PlaintextStore(path: path).write(sample)
        for mode: mode_t in [0o620, 0o602, 0o660] {
            chmod(path, mode)
            let log = WarningLog()
            let error = try #require(throws: KeywayError.self) {
                try PlaintextStore(path: path, warn: log.handler).list()
            }
            #expect(error.code == .insecurePermissions)
            #expect(error.message.contains("write it") && error.message.contains("chmod 600 \(path)"))
            #expect(throws: KeywayError.self) { try PlaintextStore(path: path).write(sample) }
        }
    }

    @Test(.enabled(if: geteuid() == 0, "giving a file to another owner needs root; CI runs as root"))
    func foreignOwnerIsRefused() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        try PlaintextStore(path: path).write(sample)
        #expect(chown(path, 65534, 65534) == 0)
        let error = try #require(throws: KeywayError.self) { try PlaintextStore(path: path).read(sample.id) }
        #expect(error.code == .foreignOwner)
        #expect(error.message.contains("owned by user 65534"))
        let before = try readFile(path)
        #expect(throws: KeywayError.self) { try PlaintextStore(path: path).write(sample) }
        #expect(try readFile(path) == before)
    }

    @Test func symlinkToOwnRegularFileIsFollowedAndKept() throws {
        let dir = try TemporaryDirectory()
        let real = dir.path + "/real/credentials.json"
        try PlaintextStore(path: real).write(sample)
        let link = dir.path + "/link.json"
        #expect(symlink(real, link) == 0)
        let store = PlaintextStore(path: link)
        #expect(try store.read(sample.id) == sample)
        var updated = sample
        updated.id = CredentialID(app: "other")
        try store.write(updated)
        #expect(FileMode.isSymlink(try #require(try Sys.lstat(link))), "the link is still a link")
        #expect(try PlaintextStore(path: real).read(updated.id) == updated, "the write went to the target")
        #expect(try permissions(real) == 0o600)
    }

    @Test func symlinkToDirectoryOrMissingFileIsRefused() throws {
        let dir = try TemporaryDirectory()
        let toDirectory = dir.path + "/to-dir.json"
        #expect(symlink(dir.path, toDirectory) == 0)
        let e1 = try #require(throws: KeywayError.self) { try PlaintextStore(path: toDirectory).read(sample.id) }
        #expect(e1.code == .unsafeFile)
        #expect(throws: KeywayError.self) { try PlaintextStore(path: toDirectory).write(sample) }
        let dangling = dir.path + "/dangling.json"
        #expect(symlink(dir.path + "/nothing-here", dangling) == 0)
        let e2 = try #require(throws: KeywayError.self) { try PlaintextStore(path: dangling).write(sample) }
        #expect(e2.code == .unsafeFile)
        #expect(try Sys.lstat(dir.path + "/nothing-here") == nil, "nothing was created through the link")
    }

    @Test(.enabled(if: geteuid() == 0, "giving a file to another owner needs root; CI runs as root"))
    func symlinkToForeignFileIsRefused() throws {
        let dir = try TemporaryDirectory()
        let real = dir.path + "/foreign.json"
        try PlaintextStore(path: real).write(sample)
        #expect(chown(real, 65534, 65534) == 0)
        let link = dir.path + "/link.json"
        #expect(symlink(real, link) == 0)
        let error = try #require(throws: KeywayError.self) { try PlaintextStore(path: link).read(sample.id) }
        #expect(error.code == .foreignOwner)
    }

    @Test func directoryOrFifoIsRefused() throws {
        let dir = try TemporaryDirectory()
        let fifo = dir.path + "/fifo.json"
        #expect(mkfifo(fifo, 0o600) == 0)
        let error = try #require(throws: KeywayError.self) { try PlaintextStore(path: fifo).read(sample.id) }
        #expect(error.code == .unsafeFile)
        let sub = dir.path + "/sub.json"
        #expect(mkdir(sub, 0o700) == 0)
        #expect(throws: KeywayError.self) { try PlaintextStore(path: sub).read(sample.id) }
    }

    @Test func malformedFileIsNeverOverwritten() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        let corrupt = "{\n  \"version\": 1,\n  \"credentials\": [\n    {\"app\": \"x\" \"profile\": \"y\"}\n  ]\n}\n"
        try writeFile(path, corrupt, mode: 0o600)
        let store = PlaintextStore(path: path)
        let readError = try #require(throws: KeywayError.self) { try store.read(sample.id) }
        #expect(readError.code == .malformedFile)
        #expect(readError.message.contains(path))
        #expect(readError.message.contains("line 4, column 17"), "\(readError.message)")
        #expect(throws: KeywayError.self) { try store.write(sample) }
        #expect(throws: KeywayError.self) { try store.delete(sample.id) }
        #expect(throws: KeywayError.self) { try store.deleteAll(app: "x") }
        #expect(try readFile(path) == Array(corrupt.utf8), "byte for byte untouched")
    }

    /// A field written twice (in an entry, or at the top level) is refused by every read and write, naming the file
    /// and the field but not the value, and the file stays as it is: last-one-wins would drop the other on the next
    /// write.
    @Test(arguments: [
        (
            "{\"version\": 1, \"credentials\": [{\"app\": \"reflex\", \"profile\": \"default\", "
                + "\"api_key\": \"rfx_first_SECRET_0000000000\", \"api_key\": \"rfx_second_SECRET_000000000\"}]}\n",
            "credentials[0].api_key"
        ),
        (
            "{\"version\": 1, \"credentials\": [{\"app\": \"reflex\", \"profile\": \"default\", "
                + "\"api_key\": \"rfx_SECRET_00000000000000000\"}], \"credentials\": []}\n",
            "\"credentials\""
        ),
    ])
    func duplicateFieldIsRefusedAndKept(text: String, field: String) throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        try writeFile(path, text, mode: 0o600)
        let store = PlaintextStore(path: path)
        let readError = try #require(throws: KeywayError.self) { try store.read(sample.id) }
        #expect(readError.code == .malformedFile)
        #expect(
            readError.message
                == "\(path): \(field) appears more than once. The file was left untouched; fix or move it.")
        #expect(!readError.message.contains("SECRET"))
        #expect(throws: KeywayError.self) { try store.list() }
        #expect(throws: KeywayError.self) { try store.write(sample) }
        #expect(throws: KeywayError.self) { try store.delete(sample.id) }
        #expect(try readFile(path) == Array(text.utf8), "byte for byte untouched")
    }

    @Test func newerFormatVersionIsLeftAlone() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        let future = "{\"format\":\"keyway-credentials\",\"version\":2,\"credentials\":[],\"more\":{}}"
        try writeFile(path, future, mode: 0o600)
        let error = try #require(throws: KeywayError.self) { try PlaintextStore(path: path).write(sample) }
        #expect(error.code == .unsupportedVersion)
        #expect(try readFile(path) == Array(future.utf8))
    }

    @Test func invalidUTF8IsAMalformedFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        try writeFile(path, [0xFF, 0xFE, 0x00], mode: 0o600)
        let error = try #require(throws: KeywayError.self) { try PlaintextStore(path: path).read(sample.id) }
        #expect(error.code == .malformedFile)
        #expect(error.message.contains(path))
    }

    @Test(.enabled(if: geteuid() != 0, "root reads a mode-0000 file anyway; this case runs for normal users"))
    func unreadableFileIsAnErrorNotMissing() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        try PlaintextStore(path: path).write(sample)
        chmod(path, 0)
        let error = try #require(throws: KeywayError.self) { try PlaintextStore(path: path).read(sample.id) }
        #expect(error.code == .io)
        #expect(error.message.contains(path))
    }

    @Test func concurrentWritersInOneProcessLoseNothing() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/credentials.json"
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in 0..<10 {
                        let id = CredentialID(app: "app", profile: "w\(worker)-\(i)")
                        try? PlaintextStore(path: path).write(Credential(id: id, secret: Secret("k\(worker)-\(i)")))
                    }
                }
            }
        }
        #expect(try PlaintextStore(path: path).list(app: "app").count == 80)
    }
}

func listDirectory(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else { throw Errno.current }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// `ProtectedFile.snapshot` and `removeIfUnchanged` (import --remove, review D1 and D3).
@Suite struct FileSnapshotTests {
    static let text = "{\"api_key\": \"k-0123456789\"}"

    /// A file holding `text`, and its snapshot (the directory is returned to keep it alive).
    func snapshotted() throws -> (TemporaryDirectory, String, ProtectedFile, FileSnapshot) {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/tool.json"
        try writeFile(path, Self.text, mode: 0o600)
        let file = ProtectedFile(path: path)
        return (directory, path, file, try #require(try file.snapshot()))
    }

    @Test func anUnchangedFileIsRemoved() throws {
        let (directory, path, file, snapshot) = try snapshotted()
        defer { withExtendedLifetime(directory) {} }
        #expect(try file.removeIfUnchanged(snapshot))
        #expect(try Sys.lstat(path) == nil)
    }

    /// The same size, rewritten in place (possibly within the same clock tick): the bytes differ, it stays.
    @Test func aFileRewrittenInPlaceIsKept() throws {
        let (directory, path, file, snapshot) = try snapshotted()
        defer { withExtendedLifetime(directory) {} }
        try writeFile(path, "{\"api_key\": \"k-9876543210\"}", mode: 0o600)
        #expect(try !file.removeIfUnchanged(snapshot))
        #expect(try readFile(path) == Array("{\"api_key\": \"k-9876543210\"}".utf8))
    }

    @Test func aFileReplacedByRenameOrALinkIsKept() throws {
        let (directory, path, file, snapshot) = try snapshotted()
        defer { withExtendedLifetime(directory) {} }
        // The same bytes, another inode.
        try writeFile(path + ".new", Self.text, mode: 0o600)
        try Sys.rename(path + ".new", path)
        #expect(try !file.removeIfUnchanged(snapshot))
        #expect(try Sys.lstat(path) != nil)
        // A symbolic link is never read through, nor removed.
        try Sys.rename(path, path + ".target")
        #expect(symlink(path + ".target", path) == 0)
        #expect(throws: KeywayError.self) { try file.snapshot() }
        #expect(try !file.removeIfUnchanged(snapshot))
        #expect(try Sys.lstat(path) != nil)
    }
}
