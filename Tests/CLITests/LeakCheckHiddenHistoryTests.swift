import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// History a repository tries to hide from `leak-check --history`: replace objects, grafts, a shallow file naming a
/// later commit; and a genuine shallow clone, scanned with a note.
@Suite("leak-check: hidden history", .serialized)
struct LeakCheckHiddenHistoryTests {
    let planted = Planted.reflexHidden
    var line: String { "REFLEX_API_KEY=\(planted)" }

    func scan(_ sandbox: Sandbox, _ root: String) throws -> (RunResult, JSON) {
        let result = try sandbox.run(
            ["leak-check", "--no-home", "--history", "--format", "json", root], env: GitFixture.plainEnvironment,
            directory: sandbox.root)
        return (result, try JSON.parse(result.stdout))
    }

    func historyFindings(_ json: JSON) -> [JSON] {
        guard case .array(let items)? = json["findings"] else { return [] }
        return items.filter { $0["rule"]?.stringValue == "reflex-api-key" && $0["git"]?.stringValue == "history" }
    }

    func notes(_ json: JSON) -> [String] {
        guard case .array(let items)? = json["notes"] else { return [] }
        return items.compactMap(\.stringValue)
    }

    func errors(_ json: JSON) -> [String] {
        guard case .array(let items)? = json["errors"] else { return [] }
        return items.compactMap(\.stringValue)
    }

    func log(_ root: String) throws -> String { try GitFixture.git(["log", "--all", "--format=%H"], in: root) }

    /// Plain git no longer lists the first commit, and leak-check still finds the key it holds.
    @discardableResult
    func expectFirstCommitScanned(
        _ sandbox: Sandbox, _ root: String, _ commits: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (RunResult, JSON) {
        #expect(!(try log(root)).contains(commits[0]), "not armed", sourceLocation: sourceLocation)
        let (result, json) = try scan(sandbox, root)
        #expect(result.status == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(
            historyFindings(json).first?["commit"]?.stringValue == commits[0], "\(result)",
            sourceLocation: sourceLocation)
        return (result, json)
    }

    @Test("git replace <key blob> <clean blob>, with core.useReplaceRefs=true: the key is still found")
    func replaceObjects() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/replaced"
        let repo = try GitFixture.keyThenClean(root, line: line)
        try GitFixture.git(["replace", repo.bad, repo.clean], in: root)
        // Also beats GIT_NO_REPLACE_OBJECTS and --no-replace-objects in git 2.39.
        try GitFixture.git(["config", "core.useReplaceRefs", "true"], in: root)
        #expect(try GitFixture.git(["cat-file", "blob", repo.bad], in: root) == "nothing here\n", "not armed")
        let (result, json) = try scan(sandbox, root)
        #expect(result.status == 1, "\(result)")
        #expect(historyFindings(json).first?["commit"]?.stringValue == repo.commits[0], "\(result)")
        #expect(!result.stdout.contains(planted) && !result.stderr.contains(planted))
    }

    @Test(".git/info/grafts cutting history at a later commit: earlier commits are still scanned")
    func grafts() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/grafted"
        let repo = try GitFixture.keyThenClean(root, line: line)
        try writeFile(root + "/.git/info/grafts", repo.commits[1] + "\n", mode: 0o644)
        try expectFirstCommitScanned(sandbox, root, repo.commits)
    }

    @Test("a commit-graph file that gives a commit no parent: the commits behind it are still scanned")
    func lyingCommitGraph() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/graph"
        let repo = try GitFixture.keyThenClean(root, line: line)
        try GitFixture.git(["commit-graph", "write", "--reachable"], in: root)
        let file = root + "/.git/objects/info/commit-graph"
        var bytes = try #require(try readFile(file))
        // Chunk table after the 8-byte header: 12-byte entries (4-byte id, 8-byte big-endian offset).
        func offset(of id: String) -> Int? {
            for i in 0...Int(bytes[6]) {
                let entry = 8 + 12 * i
                if Array(bytes[entry..<(entry + 4)]) == Array(id.utf8) {
                    return bytes[(entry + 4)..<(entry + 12)].reduce(0) { $0 << 8 | Int($1) }
                }
            }
            return nil
        }
        let oids = try #require(offset(of: "OIDL")), data = try #require(offset(of: "CDAT"))
        let second = Array(repo.commits[1].utf8)
        let hex = stride(from: 0, to: second.count, by: 2).map {
            UInt8(String(decoding: second[$0..<($0 + 2)], as: UTF8.self), radix: 16)!
        }
        let index = try #require(
            (0..<((data - oids) / 20)).first { Array(bytes[(oids + 20 * $0)..<(oids + 20 * $0 + 20)]) == hex })
        // The first parent of that commit's entry (after its 20-byte tree id) becomes "none" (0x70000000).
        let parent = data + 36 * index + 20
        bytes.replaceSubrange(parent..<(parent + 4), with: [0x70, 0, 0, 0])
        _ = chmod(file, 0o644)
        try writeFile(file, bytes, mode: 0o644)
        try expectFirstCommitScanned(sandbox, root, repo.commits)
    }

    @Test("a .git/shallow naming a later commit whose parents are present: they are scanned, with a note")
    func shallowFileWithObjectsPresent() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/cut"
        let repo = try GitFixture.keyThenClean(root, line: line)
        try writeFile(root + "/.git/shallow", repo.commits[1] + "\n", mode: 0o644)
        let (result, json) = try expectFirstCommitScanned(sandbox, root, repo.commits)
        #expect(
            notes(json).contains { $0.contains("\(root) is a shallow repository") && $0.contains("present") },
            "\(result)")
        #expect(errors(json).isEmpty, "\(result)")
    }

    @Test("a genuine shallow clone (git clone --depth 1) is scanned as it is, with a note that older history was not")
    func genuineShallowClone() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let source = sandbox.root + "/source"
        let repo = try GitFixture.keyThenClean(source, line: line)
        let clone = sandbox.root + "/clone"
        try GitFixture.git(
            ["-c", "protocol.file.allow=always", "clone", "-q", "--depth", "1", "file://" + source, clone],
            in: sandbox.root)
        #expect((try? GitFixture.git(["cat-file", "-e", repo.commits[0]], in: clone)) == nil, "not shallow")
        try GitFixture.write(clone, "c.txt", "token=" + planted + "\n")
        try GitFixture.commitAll(clone)
        let (result, json) = try scan(sandbox, clone)
        #expect(result.status == 1, "\(result)")
        #expect(errors(json).isEmpty, "\(result)")
        // The commit made in the clone is scanned; the first commit is not on this machine.
        #expect(!historyFindings(json).contains { $0["commit"]?.stringValue == repo.commits[0] })
        guard case .array(let items)? = json["findings"] else {
            Issue.record("no findings")
            return
        }
        #expect(
            items.contains {
                $0["rule"]?.stringValue == "reflex-api-key" && $0["path"]?.stringValue == clone + "/c.txt"
            })
        #expect(
            notes(json).contains {
                $0.contains("\(clone) is a shallow repository") && $0.contains("history beyond its shallow boundary")
                    && $0.contains("was not scanned")
            }, "\(result)")
        let text = try sandbox.run(
            ["leak-check", "--no-home", "--history", clone], env: GitFixture.plainEnvironment, directory: sandbox.root)
        #expect(text.stdout.contains("Note: \(clone) is a shallow repository"), "\(text)")
    }
}
