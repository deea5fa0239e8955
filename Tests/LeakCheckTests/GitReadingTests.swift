import KeywayCore
import KeywayTestSupport
import Testing

@testable import KeywayLeakCheck

@Suite("LeakCheck git reading")
struct GitReadingTests {
    @Test("one cat-file process reads many objects, across request groups and larger than a pipe")
    func catFile() throws {
        let directory = try TemporaryDirectory(prefix: "leak-catfile")
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        for i in 0..<600 { try GitFixture.write(root, "f\(i).txt", "file \(i)\n") }
        let big = String(repeating: "0123456789abcdef\n", count: 20_000)
        try GitFixture.write(root, "big.txt", big)
        try GitFixture.commitAll(root)
        let runner = GitRunner(root: root)
        let entries = try runner.indexEntries()
        #expect(entries.count == 601)
        let batch = try CatFileBatch(runner)
        defer { batch.finish() }
        var contents: [String: String] = [:]
        try batch.read(entries.map(\.oid) + ["0000000000000000000000000000000000000000"]) { index, bytes in
            if index < entries.count {
                contents[entries[index].path] = bytes.map { String(decoding: $0, as: UTF8.self) }
            } else {
                #expect(bytes == nil)
            }
        }
        #expect(contents["f599.txt"] == "file 599\n")
        #expect(contents["big.txt"] == big)
    }

    @Test("sizes come from --batch-check; a blob over the limit is dropped in pieces and the stream stays in step")
    func sizeLimit() throws {
        let directory = try TemporaryDirectory(prefix: "leak-catfile-limit")
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "small.txt", "small\n")
        try GitFixture.write(root, "big.txt", String(repeating: "0123456789abcdef\n", count: 20_000))
        try GitFixture.write(root, "after.txt", "after\n")
        try GitFixture.commitAll(root)
        let runner = GitRunner(root: root)
        let oids = Dictionary(uniqueKeysWithValues: try runner.indexEntries().map { ($0.path, $0.oid) })
        let order = ["small.txt", "big.txt", "after.txt"].map { oids[$0]! }
        let check = try CatFileBatch(runner, checkOnly: true)
        let info = try check.info(order + ["0000000000000000000000000000000000000000"])
        check.finish()
        #expect(info.count == 4)
        #expect(info[0]?.type == "blob" && info[0]?.size == 6)
        #expect(info[1]?.size == 340_000)
        #expect(info[3] == nil)
        let batch = try CatFileBatch(runner)
        defer { batch.finish() }
        var contents: [String?] = []
        try batch.read(order, maximumSize: 1000) { _, bytes in
            contents.append(bytes.map { String(decoding: $0, as: UTF8.self) })
        }
        #expect(contents == ["small\n", nil, "after\n"])
    }

    @Test("history lists every added or changed blob of every ref, oldest first, with paths that need quoting")
    func history() throws {
        let directory = try TemporaryDirectory(prefix: "leak-history")
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a b/é.txt", "one\n")
        try GitFixture.commitAll(root, "first")
        try GitFixture.git(["checkout", "-q", "-b", "side"], in: root)
        try GitFixture.write(root, "side.txt", "side\n")
        try GitFixture.commitAll(root, "side")
        try GitFixture.git(["checkout", "-q", "main"], in: root)
        try GitFixture.git(["rm", "-q", "a b/é.txt"], in: root)
        try GitFixture.git(["commit", "-q", "-m", "remove"], in: root)
        let (entries, commits) = try GitRunner(root: root).history()
        #expect(commits == 3)
        #expect(Set(entries.map(\.path)) == ["a b/é.txt", "side.txt"])
        #expect(entries.first?.path == "a b/é.txt")
    }
}

/// Spawn-path review findings: sizes from a crafted loose object's header, or a sparse file, must not overflow.
@Suite struct CraftedSizeTests {
    @Test func aSizeTooLargeForArithmeticIsAnUnexpectedAnswer() throws {
        let directory = try TemporaryDirectory(prefix: "leak-crafted-size")
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        let batch = try CatFileBatch(GitRunner(root: root))
        defer { batch.finish() }
        let header = Array("0123456789abcdef0123456789abcdef01234567 blob 9223372036854775807".utf8)[...]
        #expect(throws: KeywayError.self) { _ = try batch.parse(header) }
        let fine = Array("0123456789abcdef0123456789abcdef01234567 blob 12".utf8)[...]
        #expect(try batch.parse(fine)?.1 == 12)
    }

    @Test func everySizeHasAText() {
        #expect(LeakChecker.sizeText(Int.max) == "8589934591.9 GiB")
        #expect(LeakChecker.sizeText(1 << 30 + 1 << 29) == "1.5 GiB")
        #expect(LeakChecker.sizeText(1_000_000_000_000_000_000).hasSuffix(" GiB"))
    }
}
