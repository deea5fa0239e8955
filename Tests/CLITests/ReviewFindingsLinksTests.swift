import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

// Regression tests for review 3's D6 (leak-check PATH links, foreign work trees), G1 (reflow.key linked out of the
// repository) and G3 (fields written twice in app specs and tools' JSON files).

private func leakCheck(_ sandbox: Sandbox, _ arguments: [String], directory: String? = nil) throws -> RunResult {
    try sandbox.run(["leak-check", "--no-home"] + arguments, env: GitFixture.plainEnvironment, directory: directory)
}

private func strings(_ json: JSON, _ field: String) -> [String] {
    guard case .array(let items)? = json[field] else { return [] }
    return items.compactMap(\.stringValue)
}

private func findingPaths(_ json: JSON) -> [String] {
    guard case .array(let items)? = json["findings"] else { return [] }
    return items.compactMap { $0["path"]?.stringValue }
}

@Suite("leak-check: links a PATH names, repositories whose work tree is elsewhere", .serialized)
struct LeakCheckPathLinkTests {
    /// `<root>/r`: a repository with a committed key in `cfg.txt` and `sub/a.txt`.
    func repository(_ sandbox: Sandbox) throws -> String {
        let root = sandbox.root + "/r"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "cfg.txt", "TOKEN=\(Planted.github)\n")
        try GitFixture.write(root, "sub/a.txt", "TOKEN=\(Planted.github)\n")
        try GitFixture.commitAll(root)
        return root
    }

    @Test("a PATH that is a link to a repository, a subdirectory or a file scans its target, with a note")
    func linkedPaths() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = try repository(sandbox)
        try FileManager.default.createSymbolicLink(atPath: sandbox.root + "/rootlink", withDestinationPath: "r")
        try FileManager.default.createSymbolicLink(atPath: root + "/linkdir", withDestinationPath: "sub")
        try FileManager.default.createSymbolicLink(atPath: root + "/linkfile", withDestinationPath: "sub/a.txt")
        for (typed, target, expected) in [
            ("rootlink", root, root + "/cfg.txt"), ("r/linkdir", root + "/sub", root + "/sub/a.txt"),
            ("r/linkfile", root + "/sub/a.txt", root + "/sub/a.txt"),
            ("rootlink/sub", root + "/sub", root + "/sub/a.txt"),
        ] {
            let json = try leakCheck(sandbox, [typed, "--format", "json"], directory: sandbox.root)
            #expect(json.status == 1, "\(typed): \(json)")
            let report = try JSON.parse(json.stdout)
            #expect(findingPaths(report).contains(expected), "\(typed): \(json)")
            #expect(
                strings(report, "notes").contains {
                    $0.contains(
                        "\(sandbox.root)/\(typed) is, or goes through, a symbolic link: its target \(target) was scanned"
                    )
                }, "\(typed): \(json)")
            let text = try leakCheck(sandbox, [typed], directory: sandbox.root)
            #expect(text.status == 1 && !text.stdout.contains("No leaks found"), "\(typed): \(text)")
            #expect(
                text.stdout.contains("Note: \(sandbox.root)/\(typed) is, or goes through, a symbolic link"), "\(text)")
        }
        // A link beneath the root a PATH names is still not followed: only r's own files are scanned once.
        let whole = try leakCheck(sandbox, [root, "--format", "json"])
        #expect(!findingPaths(try JSON.parse(whole.stdout)).contains { $0.hasPrefix(root + "/link") }, "\(whole)")
    }

    @Test("a PATH that is a dangling link or a FIFO is an error, never a silent all-clear")
    func unreadablePaths() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try FileManager.default.createSymbolicLink(atPath: sandbox.root + "/dangling", withDestinationPath: "nowhere")
        #expect(mkfifo(sandbox.root + "/fifo", 0o600) == 0)
        for (name, message) in [
            ("dangling", "is a symbolic link whose target does not exist or cannot be read: nothing was scanned."),
            ("fifo", "is not a directory or a regular file (a FIFO, socket or device): it was not scanned."),
        ] {
            let result = try leakCheck(sandbox, [sandbox.root + "/" + name])
            #expect(result.status == 2, "\(name): \(result)")
            #expect(!result.stdout.contains("No leaks found"), "\(name): \(result)")
            #expect(result.stdout.contains("Error: \(sandbox.root)/\(name) \(message)"), "\(name): \(result)")
        }
    }

    /// Checks that `dir`'s untracked key file is found as a file outside any repository, with the not-scanned note
    /// in text, JSON and SARIF, and no "No leaks found".
    func expectScannedWithoutGit(
        _ sandbox: Sandbox, _ dir: String, workTree: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let noteStart =
            "Not scanned as a repository: git's work tree for the repository at \(dir) is \(workTree), not \(dir)"
        let json = try leakCheck(sandbox, [dir, "--format", "json"])
        #expect(json.status == 1, "\(json)", sourceLocation: sourceLocation)
        let report = try JSON.parse(json.stdout)
        #expect(findingPaths(report).contains(dir + "/key.txt"), "\(json)", sourceLocation: sourceLocation)
        #expect(
            strings(report, "notes").contains { $0.hasPrefix(noteStart) }, "\(json)", sourceLocation: sourceLocation)
        #expect(report["summary"]?["not_scanned"] == .int(1), "\(json)", sourceLocation: sourceLocation)
        #expect(report["summary"]?["repositories"] == .array([]), "\(json)", sourceLocation: sourceLocation)
        let text = try leakCheck(sandbox, [dir])
        #expect(text.stdout.contains("Note: \(noteStart)"), "\(text)", sourceLocation: sourceLocation)
        #expect(
            text.stdout.contains("; NOT SCANNED: 1 item, see the notes above."), "\(text)",
            sourceLocation: sourceLocation)
        let sarif = try JSON.parse(try leakCheck(sandbox, [dir, "--format", "sarif"]).stdout)
        guard case .array(let runs)? = sarif["runs"], case .array(let invocations)? = runs.first?["invocations"],
            case .array(let notifications)? = invocations.first?["toolExecutionNotifications"]
        else {
            Issue.record("no SARIF notifications: \(sarif.serialized())", sourceLocation: sourceLocation)
            return
        }
        #expect(
            notifications.contains {
                $0["level"]?.stringValue == "warning"
                    && $0["message"]?["text"]?.stringValue?.hasPrefix(noteStart) == true
            }, sourceLocation: sourceLocation)
        // Without the key, no all-clear either.
        try FileManager.default.removeItem(atPath: dir + "/key.txt")
        let clean = try leakCheck(sandbox, [dir])
        #expect(clean.status == 0, "\(clean)", sourceLocation: sourceLocation)
        #expect(!clean.stdout.contains("No leaks found"), "\(clean)", sourceLocation: sourceLocation)
        #expect(
            clean.stdout.hasSuffix(
                "Incomplete scan: nothing found in what was scanned (0 repositories, 0 files); NOT SCANNED: 1 item, see "
                    + "the notes above.\n"), "\(clean)", sourceLocation: sourceLocation)
    }

    @Test("a repository whose core.worktree is elsewhere: its files are scanned as plain files, with a note")
    func coreWorktreeElsewhere() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let dir = sandbox.root + "/w", elsewhere = sandbox.root + "/elsewhere"
        try GitFixture.initialize(dir)
        try Sys.mkdir(elsewhere, 0o755)
        try GitFixture.git(["config", "core.worktree", elsewhere], in: dir)
        try makeFile(dir + "/key.txt", "TOKEN=\(Planted.github)\n")
        try expectScannedWithoutGit(sandbox, dir, workTree: elsewhere)
    }

    @Test("a .git file naming another repository's git directory with its own work tree: scanned as plain files")
    func gitFileToAnotherRepository() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let other = try repository(sandbox)
        let dir = sandbox.root + "/d"
        try Sys.mkdir(dir, 0o755)
        // A submodule's git directory has core.worktree set (to the submodule's checkout): the shape git uses itself.
        try GitFixture.git(["config", "core.worktree", other], in: other)
        try makeFile(dir + "/.git", "gitdir: \(other)/.git\n")
        try makeFile(dir + "/key.txt", "TOKEN=\(Planted.github)\n")
        try expectScannedWithoutGit(sandbox, dir, workTree: other)
    }
}

@Suite("reflow.key at the git root linked out of the repository")
struct GitRootLinkTests {
    @Test("a reflow.key linking out of the repository is refused by get and run; a link inside is read")
    func linkOutOfTheRepository() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        sandbox.environment.merge(GitFixture.plainEnvironment) { $1 }
        try makeFile(sandbox.home + "/.gh-token", Planted.github + "\n")
        let root = sandbox.root + "/cloned"
        try GitFixture.initialize(root)
        try FileManager.default.createSymbolicLink(
            atPath: root + "/reflow.key", withDestinationPath: sandbox.home + "/.gh-token")
        let marker = sandbox.root + "/ran"
        for arguments in [
            ["get", "reflow"], ["run", "reflow", "--env", "K", "--", "/bin/sh", "-c", "echo \"$K\" > \(marker)"],
        ] {
            let result = try sandbox.run(arguments, directory: root + "/")
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(!result.stdout.contains(Planted.github) && !result.stderr.contains(Planted.github), "\(result)")
            #expect(
                result.stderr.contains(
                    "\(root)/reflow.key is a symbolic link to \(sandbox.home)/.gh-token, outside the repository \(root): "
                        + "Keyway does not follow it"), "\(arguments): \(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "the command ran")
        // A link whose target cannot be resolved is refused too.
        try FileManager.default.removeItem(atPath: sandbox.home + "/.gh-token")
        let dangling = try sandbox.run(["get", "reflow"], directory: root)
        #expect(
            dangling.status == 2 && dangling.stderr.contains("is a symbolic link whose target cannot be resolved"),
            "\(dangling)")
        // A link to a file inside the repository is the repository's own file.
        try makeFile(root + "/keys/reflow.key", "reflow-inside-key-4444\n")
        try FileManager.default.removeItem(atPath: root + "/reflow.key")
        try FileManager.default.createSymbolicLink(atPath: root + "/reflow.key", withDestinationPath: "keys/reflow.key")
        let inside = try sandbox.run(["get", "reflow"], directory: root)
        #expect(inside.status == 0 && inside.stdout == "reflow-inside-key-4444\n", "\(inside)")
    }
}

@Suite("fields written twice")
struct DuplicateFieldTests {
    @Test("an app spec with a field written twice, at any depth, is an error naming the file and the field")
    func appSpecDuplicates() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let file = sandbox.configDirectory + "/apps/acme.json"
        let hidden = "Xq" + "7Lm2Np9Rt4Vw8Zb3Kc6Hd1Fg5"
        for (spec, field) in [
            (#"{"name": "acme", "name": "other", "env": [], "sources": [{"type": "store"}]}"#, "\"name\""),
            (#"{"name": "acme", "env": [], "sources": [{"type": "store", "type": "store"}]}"#, "sources[0].type"),
            (
                #"{"name": "acme", "env": [], "sources": [{"type": "store"}], "token_kinds": [{"prefix": "a_", "name": "x", "name": "y"}]}"#,
                "token_kinds[0].name"
            ),
            (
                #"{"name": "acme", "env": [], "sources": [{"type": "store"}], "token_kinds": [{"prefix": "a_", "name": "x", "\#(hidden)": 1, "\#(hidden)": 2}]}"#,
                "token_kinds[0]: a field whose name is not shown (it does not look like a field name)"
            ),
        ] {
            try makeFile(file, spec)
            let result = try sandbox.run(["get", "acme"])
            #expect(result.status == 2, "\(spec): \(result)")
            #expect(
                result.stderr.contains("App spec \(file): \(field) is written more than once."), "\(spec): \(result)")
            #expect(!result.stderr.contains(hidden) && !result.stderr.contains("other"), "\(result)")
        }
    }

    @Test("a tool's JSON file with a field Keyway reads written twice is refused as ambiguous")
    func toolFileDuplicates() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let file = sandbox.home + "/.config/reflex/credentials.json"
        try makeFile(file, "{\"api_key\": \"\(Planted.reflex)\", \"api_key\": \"\(Planted.reflex2)\"}\n")
        for arguments in [["get", "reflex"], ["run", "reflex", "--", "/bin/true"]] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains("\(file): api_key is written more than once"), "\(result)")
            #expect(!result.stderr.contains(Planted.reflex) && !result.stderr.contains(Planted.reflex2), "\(result)")
        }
        // A field Keyway does not read may be repeated: the tool's reader decides that one.
        try makeFile(file, "{\"api_key\": \"\(Planted.reflex)\", \"region\": \"eu\", \"region\": \"us\"}\n")
        let other = try sandbox.run(["get", "reflex"])
        #expect(other.status == 0 && other.stdout == Planted.reflex + "\n", "\(other)")
    }
}
