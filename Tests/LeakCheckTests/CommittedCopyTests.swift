import Glibc
import KeywayCore
import KeywayTestSupport
import Testing

@testable import KeywayLeakCheck

/// A working-tree file that is byte for byte the blob the index and HEAD hold is recognised by its git blob id, so
/// leak-check neither asks git for the committed version of it nor reads that blob again from the history; what it
/// reports is unchanged.
@Suite("LeakCheck committed copies")
struct CommittedCopyTests {
    @Test("SHA-1 matches the FIPS 180-4 examples, whole and fed in pieces")
    func sha1() {
        func hex(_ pieces: [[UInt8]]) -> String {
            var hash = SHA1()
            for piece in pieces { hash.update(piece) }
            return hexString(hash.finish())
        }
        #expect(hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex([Array("abc".utf8)]) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let two = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(hex([two]) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex([Array(two[..<1]), Array(two[1..<30]), Array(two[30...])]) == hex([two]))
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(hex([million]) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        // Pieces that straddle blocks every way.
        var pieces: [[UInt8]] = []
        var offset = 0
        var size = 1
        while offset < million.count {
            let end = min(million.count, offset + size)
            pieces.append(Array(million[offset..<end]))
            offset = end
            size = size % 131 + 7
        }
        #expect(hex(pieces) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("blob ids are git hash-object's, in SHA-1 and SHA-256 repositories", arguments: ["sha1", "sha256"])
    func blobIDs(format: String) throws {
        let directory = try TemporaryDirectory(prefix: "leak-blobid")
        let root = directory.path + "/r"
        try Sys.mkdir(root, 0o700)
        _ = try GitFixture.git(["init", "-q", "--object-format=\(format)", root], in: directory.path)
        for size in [0, 1, 47, 55, 56, 57, 63, 64, 65, 119, 120, 1000, 65_537] {
            var bytes: [UInt8] = []
            for i in 0..<size { bytes.append(UInt8(truncatingIfNeeded: i &* 31 &+ 7)) }
            let path = directory.path + "/f\(size)"
            try writeFile(path, bytes, mode: 0o600)
            let git = try GitFixture.git(["hash-object", "--no-filters", path], in: root).filter(\.isHexDigit)
            #expect(git.count == (format == "sha1" ? 40 : 64))
            #expect(GitBlobID.of(bytes, like: git) == git, "size \(size)")
        }
        #expect(GitBlobID.of([], like: "abc") == nil)
    }

    /// Every way a working-tree copy can differ from HEAD is told as before: committed, changed after the commit,
    /// staged, and a blob that history first holds at another path (a rename) is still read and reported there.
    @Test("findings are the same for clean, changed, staged and renamed files")
    func findings() throws {
        let directory = try TemporaryDirectory(prefix: "leak-committed-copy")
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "clean.txt", "TOKEN=\(Planted.github)\n")
        try GitFixture.write(root, "changed.txt", "KEY=\(Planted.stripe)\n")
        try GitFixture.write(root, "staged.txt", "one\n")
        try GitFixture.write(root, "old.txt", "SLACK=\(Planted.slack)\n")
        try GitFixture.write(root, "crlf.txt", "AWS=\(Planted.aws)\n")
        try GitFixture.commitAll(root, "first")
        let first = try GitFixture.git(["rev-parse", "HEAD"], in: root).filter(\.isHexDigit)
        _ = try GitFixture.git(["mv", "old.txt", "renamed.txt"], in: root)
        try GitFixture.commitAll(root, "second")
        // changed.txt: another key in the working tree only; staged.txt: a key staged, not committed.
        try GitFixture.write(root, "changed.txt", "KEY=\(Planted.aws2)\n")
        try GitFixture.write(root, "staged.txt", "KEY=\(Planted.githubFineGrained)\n")
        _ = try GitFixture.git(["add", "staged.txt"], in: root)
        // crlf.txt: the working tree has CRLF line ends that git's eol conversion takes off: its blob id differs.
        try GitFixture.write(root, ".gitattributes", "crlf.txt text eol=crlf\n")
        try writeFile(root + "/crlf.txt", Array("AWS=\(Planted.aws)\r\n".utf8), mode: 0o644)
        let report = LeakChecker(
            LeakCheckOptions(
                paths: [root], history: true, machineAudit: false, environment: .process(), workingDirectory: root,
                specs: [])
        ).run()
        #expect(report.errors.isEmpty, "\(report.errors)")
        let seen = Set(
            report.findings.filter { $0.kind == .secret }.map {
                "\(Finding.relative($0.path, to: root)) \($0.git.map { "\($0)" } ?? "-") \($0.commit ?? "-") \($0.message)"
            })
        func has(_ path: String, _ git: String, _ commit: String, _ words: String) -> Bool {
            seen.contains { $0.hasPrefix("\(path) \(git) \(commit) ") && $0.contains(words) }
        }
        #expect(has("clean.txt", "tracked", "-", "tracked by git in"), "\(seen)")
        #expect(has("changed.txt", "tracked", "-", "in an uncommitted change to a file tracked"), "\(seen)")
        #expect(has("changed.txt", "history", first, "in commit"), "the key only history holds now: \(seen)")
        #expect(has("staged.txt", "tracked", "-", "staged for the next commit"), "\(seen)")
        #expect(has("renamed.txt", "tracked", "-", "tracked by git in"), "\(seen)")
        #expect(has("old.txt", "history", first, "in commit"), "read at the path history first holds it: \(seen)")
        #expect(has("crlf.txt", "tracked", "-", "tracked by git in"), "\(seen)")
        #expect(seen.count == 7, "\(seen)")
    }

    /// The history of a repository whose working tree is what HEAD holds is not read again: with one commit, no
    /// `git cat-file` runs at all (it ran twice, `--batch-check` and `--batch`, to read blobs leak-check had just
    /// read from the working tree). Run in a process of its own: it puts a recording `git` first in PATH.
    @Test("a clean one-commit repository is scanned with --history without git cat-file")
    func noCatFileForCommittedCopies() async {
        await #expect(processExitsWith: .success) {
            let directory = try TemporaryDirectory(prefix: "leak-no-catfile")
            let root = directory.path + "/r"
            try GitFixture.initialize(root)
            try GitFixture.write(root, "a.txt", "TOKEN=\(Planted.github)\n")
            try GitFixture.write(root, "b.txt", "nothing\n")
            try GitFixture.commitAll(root, "first")
            guard let git = Subprocess.executablePath("git", searchPath: Sys.environment("PATH")) else { exit(2) }
            let bin = directory.path + "/bin"
            try Sys.mkdir(bin, 0o700)
            let log = directory.path + "/git.log"
            try writeFile(bin + "/git", "#!/bin/sh\necho \"$*\" >> '\(log)'\nexec '\(git)' \"$@\"\n", mode: 0o700)
            setenv("PATH", bin + ":" + (Sys.environment("PATH") ?? "/usr/bin:/bin"), 1)
            let report = LeakChecker(
                LeakCheckOptions(
                    paths: [root], history: true, machineAudit: false, environment: .process(),
                    workingDirectory: root, specs: [])
            ).run()
            guard report.errors.isEmpty, report.blobsScanned == 2, report.commitsScanned == 1 else { exit(3) }
            guard report.findings.filter({ $0.kind == .secret }).map(\.git) == [.tracked] else { exit(4) }
            guard let bytes = try readFile(log) else { exit(5) }
            let commands = String(decoding: bytes, as: UTF8.self)
            guard commands.contains(" log "), !commands.contains("cat-file"), !commands.contains("ls-tree") else {
                exit(6)
            }
        }
    }
}
