import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Unlock material and other tools' keys that must never reach a git child (assembled at run time).
private let secretEnvironment: [String: String] = [
    "KEYWAY_PASSPHRASE": "vault-pass-" + "Q7x2Lm9", "KEYWAY_VAULT_KEY": "vault-key-" + "Z3k8Wq1",
    "KEYWAY_NEW_PASSPHRASE": "new-pass-" + "P4n6Rt2", "OTHERTOOL_API_KEY": "ot_" + "Yb5Hc8Jd2Kf6",
    "AWS_SECRET_ACCESS_KEY": "aws-" + "Vn3Mx7Qz1Lp9",
    // A parent git's `-c` options (a hook run by `git -c ... commit`): the child gets only Keyway's own.
    "GIT_CONFIG_PARAMETERS": "'core.pager'='less'", "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.editor",
    "GIT_CONFIG_VALUE_0": "vi",
]

/// Every git child Keyway starts: run from a repository that is hostile (partial clones whose promisor remote's
/// upload-pack is a trap), or through a `git` in PATH that records the environment it was given.
@Suite("git children", .serialized)
struct GitChildTests {
    let key = "rfx_0a1b2c3d4e5f6a7b8c9d0e1f"

    struct Trap {
        let script: String
        let marker: String
        var fired: Bool { FileManager.default.fileExists(atPath: marker) }
        func reset() { try? FileManager.default.removeItem(atPath: marker) }
    }

    func trap(_ sandbox: Sandbox) throws -> Trap {
        let trap = Trap(script: sandbox.root + "/upload-pack.sh", marker: sandbox.root + "/upload-pack-ran")
        try GitFixture.trap(trap.script, marker: trap.marker)
        return trap
    }

    /// Checks that plain git, given `arguments`, does run the trap in `root` (so the repository really is hostile).
    func expectArmed(_ trap: Trap, _ arguments: [String], in root: String) throws {
        trap.reset()
        _ = try? GitFixture.git(arguments, in: root)
        #expect(trap.fired, "the fixture does not make plain `git \(arguments.joined(separator: " "))` fetch")
        trap.reset()
    }

    var runEnvironment: [String: String] { GitFixture.plainEnvironment.merging(secretEnvironment) { $1 } }

    @Test("a sparse index with a missing tree in a partial clone: no command runs the promisor's upload-pack")
    func sparseIndexPartialClone() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let trap = try trap(sandbox)
        let root = sandbox.root + "/unpacked"
        try GitFixture.sparseIndexPartialClone(root, uploadPack: trap.script)
        try expectArmed(trap, ["ls-files", "--error-unmatch", "--", "secrets/credentials.json"], in: root)
        try expectArmed(trap, ["ls-files", "-z", "--stage"], in: root)
        try expectArmed(trap, ["log", "--all", "--raw"], in: root)
        // The user's own credentials file in the out-of-cone directory.
        try makeFile(root + "/secrets/credentials.json", "{\"api_key\": \"\(key)\"}")
        let env = runEnvironment.merging(["REFLEX_CONFIG_DIR": root + "/secrets"]) { $1 }
        let commands: [[String]] = [
            ["get", "reflex"], ["resolve", "reflex"], ["status", "reflex"], ["whoami", "reflex"],
            ["run", "reflex", "--", "/bin/true"], ["import", "reflex"],
            ["leak-check", "--no-home", root], ["leak-check", "--no-home", "--history", root],
            ["leak-check", "--no-home", "--staged", root], ["leak-check", "--staged"],
        ]
        for arguments in commands {
            let result = try sandbox.run(arguments, env: env, directory: root + "/docs")
            #expect(
                !trap.fired, "keyway \(arguments.joined(separator: " ")) ran the repository's upload-pack: \(result)")
            trap.reset()
            if arguments[0] == "get" { #expect(result.stdout == key + "\n", "\(result)") }
        }
        // A store file inside the repository: the warning after a write asks git too.
        let login = try sandbox.run(
            ["login", "reflex", "--api-key", key],
            env: env.merging(["KEYWAY_CONFIG_DIR": root + "/secrets/keyway"]) { $1 })
        #expect(login.status == 0, "\(login)")
        #expect(!trap.fired, "keyway login ran the repository's upload-pack: \(login)")
    }

    @Test("missing blobs in a partial clone: leak-check --staged and --history do not fetch them")
    func missingBlobPartialClone() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let trap = try trap(sandbox)
        let root = sandbox.root + "/clone"
        try GitFixture.missingBlobPartialClone(root, uploadPack: trap.script)
        trap.reset()
        let staged = try GitFixture.git(["rev-parse", ":new.txt"], in: root).filter(\.isHexDigit)
        _ = try runProcess(
            "/bin/sh", ["-c", "echo \(staged) | git -C \"$1\" cat-file --batch", "sh", root],
            environment: ProcessInfo.processInfo.environment.merging(GitFixture.plainEnvironment) { $1 })
        #expect(trap.fired, "the fixture does not make plain git cat-file fetch")
        trap.reset()
        for arguments in [
            ["leak-check", "--no-home", "--staged", root], ["leak-check", "--no-home", "--history", root],
            ["leak-check", "--staged"],
        ] {
            let result = try sandbox.run(arguments, env: runEnvironment, directory: root)
            #expect(
                !trap.fired, "keyway \(arguments.joined(separator: " ")) ran the repository's upload-pack: \(result)")
            trap.reset()
        }
    }

    @Test("git children get an allowlisted environment: no unlock material, no API keys, no inherited -c options")
    func childEnvironment() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let bin = sandbox.root + "/bin"
        let dump = sandbox.root + "/git-environments"
        try makeFile(
            bin + "/git",
            "#!/bin/sh\nenv >> '\(dump)'\necho \"ARGS: $*\" >> '\(dump)'\necho '----' >> '\(dump)'\nexec /usr/bin/git \"$@\"\n",
            mode: 0o755)
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.txt", "a\n")
        try GitFixture.commitAll(root)
        try GitFixture.write(root, "b.txt", "b\n")
        try GitFixture.git(["add", "b.txt"], in: root)
        try makeFile(root + "/conf/credentials.json", "{\"api_key\": \"\(key)\"}")
        var env = runEnvironment.merging(["REFLEX_CONFIG_DIR": root + "/conf"]) { $1 }
        env["PATH"] = bin + ":" + (sandbox.environment["PATH"] ?? "/usr/bin:/bin")
        for arguments in [
            ["get", "reflex"], ["leak-check", "--no-home", "--history", root], ["leak-check", "--staged"],
        ] {
            try? FileManager.default.removeItem(atPath: dump)
            let result = try sandbox.run(arguments, env: env, directory: root)
            let text = String(decoding: try #require(try readFile(dump), "no git ran: \(result)"), as: UTF8.self)
            let runs = text.components(separatedBy: "----\n").filter { !$0.isEmpty }
            #expect(!runs.isEmpty)
            if arguments.contains("--staged") {
                #expect(text.contains("cat-file"), "the staged scan reads blobs through cat-file")
            }
            for run in runs {
                let names = Set(
                    run.split(separator: "\n").compactMap {
                        $0.split(separator: "=", maxSplits: 1).first.map(String.init)
                    })
                for name in secretEnvironment.keys {
                    #expect(!names.contains(name), "keyway \(arguments.joined(separator: " ")) passed \(name) to git")
                }
                for value in secretEnvironment.values where value.count > 6 {
                    #expect(!run.contains(value), "a secret value reached git")
                }
                #expect(run.contains("GIT_ALLOW_PROTOCOL=_\n"), "\(run)")
                #expect(run.contains("GIT_NO_REPLACE_OBJECTS=1\n"), "\(run)")
                #expect(run.contains("GIT_NO_LAZY_FETCH=1\n"), "\(run)")
                #expect(names.contains("PATH") && names.contains("HOME"))
                #expect(!names.contains("KEYWAY_CONFIG_DIR") && !names.contains("KEYWAY_BACKEND"))
                #expect(!names.contains("REFLEX_CONFIG_DIR"))
            }
        }
    }
}

/// Reflow's `reflow.key` "at the root of the current working directory's git repository": the nearest work tree
/// root, the current directory itself included (a nested repository, a submodule, a linked worktree).
@Suite("git root of the current directory")
struct GitRootTests {
    let homeKey = "reflow-home-key-0000"

    func sandbox() throws -> Sandbox {
        let sandbox = try Sandbox(backend: "plaintext")
        try makeFile(sandbox.home + "/.reflow/api.key", homeKey + "\n")
        sandbox.environment.merge(GitFixture.plainEnvironment) { $1 }
        return sandbox
    }

    func repository(_ path: String, key: String?) throws {
        try GitFixture.initialize(path)
        try GitFixture.write(path, "README", path + "\n")
        try GitFixture.write(path, "src/deep/file.txt", "x\n")
        try GitFixture.commitAll(path)
        if let key { try makeFile(path + "/reflow.key", key + "\n") }
    }

    /// `get`, `run`, `status` and `import` from `directory` all use `expected`'s key, found at `keyFile`.
    func expectKey(
        _ sandbox: Sandbox, from directory: String, _ expected: String, at keyFile: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let get = try sandbox.run(["get", "reflow"], directory: directory)
        #expect(get.stdout == expected + "\n", "get from \(directory): \(get)", sourceLocation: sourceLocation)
        let run = try sandbox.run(
            ["run", "reflow", "--no-mask", "--env", "REFLOW_KEY", "--", "/bin/sh", "-c", "printf %s \"$REFLOW_KEY\""],
            directory: directory)
        #expect(run.stdout == expected, "run from \(directory): \(run)", sourceLocation: sourceLocation)
        let status = try sandbox.run(["status", "reflow"], directory: directory)
        #expect(status.stdout.contains(keyFile), "status from \(directory): \(status)", sourceLocation: sourceLocation)
        let imported = try sandbox.run(["import", "reflow"], directory: directory)
        #expect(
            imported.stdout.contains("from \(keyFile) into"), "import from \(directory): \(imported)",
            sourceLocation: sourceLocation)
        _ = try sandbox.run(["logout", "reflow"], directory: directory)
    }

    @Test func fromTheRootAndASubdirectory() throws {
        let s = try sandbox()
        let root = s.root + "/project"
        try repository(root, key: "reflow-root-key-1111")
        try expectKey(s, from: root, "reflow-root-key-1111", at: root + "/reflow.key")
        try expectKey(s, from: root + "/src/deep", "reflow-root-key-1111", at: root + "/reflow.key")
    }

    @Test func nestedRepositoryRoot() throws {
        let s = try sandbox()
        let outer = s.root + "/outer"
        try repository(outer, key: "reflow-outer-key-2222")
        try repository(outer + "/inner", key: "reflow-inner-key-3333")
        try expectKey(s, from: outer + "/inner", "reflow-inner-key-3333", at: outer + "/inner/reflow.key")
        try expectKey(s, from: outer + "/inner/src", "reflow-inner-key-3333", at: outer + "/inner/reflow.key")
        try expectKey(s, from: outer + "/src", "reflow-outer-key-2222", at: outer + "/reflow.key")
    }

    @Test func submoduleRoot() throws {
        let s = try sandbox()
        let library = s.root + "/library"
        let app = s.root + "/app"
        try repository(library, key: nil)
        try repository(app, key: "reflow-app-key-4444")
        try GitFixture.git(
            ["-c", "protocol.file.allow=always", "submodule", "add", "-q", library, "vendor/library"], in: app)
        let submodule = app + "/vendor/library"
        try makeFile(submodule + "/reflow.key", "reflow-submodule-key-5555\n")
        try expectKey(s, from: submodule, "reflow-submodule-key-5555", at: submodule + "/reflow.key")
        try expectKey(s, from: submodule + "/src/deep", "reflow-submodule-key-5555", at: submodule + "/reflow.key")
    }

    @Test func linkedWorktreeRoot() throws {
        let s = try sandbox()
        let main = s.root + "/main"
        try repository(main, key: "reflow-main-key-6666")
        let worktree = main + "/.worktrees/feature"
        try GitFixture.git(["worktree", "add", "-q", worktree], in: main)
        try makeFile(worktree + "/reflow.key", "reflow-worktree-key-7777\n")
        try expectKey(s, from: worktree, "reflow-worktree-key-7777", at: worktree + "/reflow.key")
        try expectKey(s, from: worktree + "/src", "reflow-worktree-key-7777", at: worktree + "/reflow.key")
    }
}
