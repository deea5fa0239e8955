import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The reviewer's attacks on the git hardening, with git 2.39: a promisor remote that is a remote helper the
/// repository itself defines, a `git` found through a relative PATH entry, a git that never answers.
extension GitChildTests {
    /// Every Keyway command that runs git, for a repository at `root` whose out-of-cone `secrets` holds the user's
    /// credentials file.
    func gitCommands(_ root: String) -> [[String]] {
        [
            ["get", "reflex"], ["resolve", "reflex"], ["status", "reflex"], ["whoami", "reflex"],
            ["run", "reflex", "--", "/bin/true"], ["import", "reflex"],
            ["leak-check", "--no-home", root], ["leak-check", "--no-home", "--history", root],
            ["leak-check", "--no-home", "--staged", root], ["leak-check", "--staged"],
        ]
    }

    struct HelperVariant {
        let name: String
        /// The promisor configuration besides `extensions.partialClone` and `remote.origin.promisor`.
        let config: [(String, String)]
        /// The GIT_ALLOW_PROTOCOL value with which plain git runs the trap.
        let armedWith: String
        /// Put an executable `git-remote-<this>` at the repository root and an empty entry in PATH.
        let helperProgram: String?
    }

    @Test(
        "a promisor remote that is a remote helper the repository defines: nothing runs, even with a git that ignores GIT_NO_LAZY_FETCH"
    )
    func remoteHelperPromisor() throws {
        let token = try #require(Git.fixedVariables["GIT_ALLOW_PROTOCOL"])
        let sandbox = try Sandbox(backend: "plaintext")
        let bin = sandbox.root + "/bin"
        // A git that does not know GIT_NO_LAZY_FETCH (older than 2.39.4): only GIT_ALLOW_PROTOCOL stops the fetch.
        try makeFile(bin + "/git", "#!/bin/sh\nunset GIT_NO_LAZY_FETCH\nexec /usr/bin/git \"$@\"\n", mode: 0o755)
        let marker = sandbox.root + "/helper-ran"
        let alias = "!env > '\(marker)'; false"
        let variants = [
            HelperVariant(
                name: "url none::x, alias.remote-none",
                config: [("remote.origin.url", "none::x"), ("alias.remote-none", alias)],
                armedWith: "none", helperProgram: nil),
            HelperVariant(
                name: "vcs=none, alias.remote-none",
                config: [
                    ("remote.origin.url", sandbox.root + "/nowhere.git"), ("remote.origin.vcs", "none"),
                    ("alias.remote-none", alias),
                ],
                armedWith: "none", helperProgram: nil),
            HelperVariant(
                name: "vcs= (empty), alias.remote-",
                config: [
                    ("remote.origin.url", sandbox.root + "/nowhere.git"), ("remote.origin.vcs", ""),
                    ("alias.remote-", alias),
                ],
                armedWith: "", helperProgram: nil),
            HelperVariant(
                name: "vcs=<Keyway's own token>, git-remote-<token> at the root, empty PATH entry",
                config: [("remote.origin.url", sandbox.root + "/nowhere.git"), ("remote.origin.vcs", token)],
                armedWith: token, helperProgram: token),
        ]
        let systemPath = sandbox.environment["PATH"] ?? "/usr/bin:/bin"
        for (index, variant) in variants.enumerated() {
            let root = sandbox.root + "/hostile\(index)"
            try GitFixture.sparseIndexPartialClone(root) { root in
                for (key, value) in [
                    ("core.repositoryformatversion", "1"), ("extensions.partialClone", "origin"),
                    ("remote.origin.promisor", "true"),
                ] + variant.config {
                    try GitFixture.git(["config", key, value], in: root)
                }
            }
            var path = systemPath
            if let helper = variant.helperProgram {
                try makeFile(root + "/git-remote-" + helper, "#!/bin/sh\nenv > '\(marker)'\nexit 1\n", mode: 0o755)
                path = ":" + systemPath
            }
            // Plain git with that allowlist does run the repository's command.
            try? FileManager.default.removeItem(atPath: marker)
            _ = try runProcess(
                "/usr/bin/git", ["ls-files", "--", "secrets/credentials.json"],
                environment: GitFixture.plainEnvironment.merging([
                    "PATH": path, "GIT_ALLOW_PROTOCOL": variant.armedWith,
                ]) { $1 },
                directory: root)
            #expect(FileManager.default.fileExists(atPath: marker), "\(variant.name): the fixture is not armed")
            try? FileManager.default.removeItem(atPath: marker)

            try makeFile(root + "/secrets/credentials.json", "{\"api_key\": \"\(key)\"}")
            let env = runEnvironment.merging([
                "REFLEX_CONFIG_DIR": root + "/secrets",
                "PATH": (variant.helperProgram == nil ? "" : ":") + bin + ":" + systemPath,
            ]) { $1 }
            for arguments in gitCommands(root) {
                let result = try sandbox.run(arguments, env: env, directory: root + "/docs")
                #expect(
                    !FileManager.default.fileExists(atPath: marker),
                    "\(variant.name): keyway \(arguments.joined(separator: " ")) ran the repository's command: \(result)"
                )
                try? FileManager.default.removeItem(atPath: marker)
                if arguments[0] == "get" { #expect(result.stdout == key + "\n", "\(result)") }
            }
            let login = try sandbox.run(
                ["login", "reflex", "--api-key", key],
                env: env.merging(["KEYWAY_CONFIG_DIR": root + "/secrets/keyway"]) { $1 }, directory: root)
            #expect(login.status == 0, "\(login)")
            #expect(!FileManager.default.fileExists(atPath: marker), "\(variant.name): keyway login ran it: \(login)")
            try? FileManager.default.removeItem(atPath: marker)
        }
    }

    @Test("git is found in PATH's absolute directories before any change of directory: a repository's ./git never runs")
    func gitThroughRelativePathEntry() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/relpath"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "docs/README", "docs\n")
        try GitFixture.commitAll(root)
        let marker = sandbox.root + "/repository-git-ran"
        let trap = "#!/bin/sh\necho ran >> '\(marker)'\nexec /usr/bin/git \"$@\"\n"
        try makeFile(root + "/git", trap, mode: 0o755)
        try makeFile(root + "/bin/git", trap, mode: 0o755)
        let reflowKey = "rfl_0123456789abcdef0123"
        try makeFile(root + "/reflow.key", reflowKey + "\n")
        // An empty entry and a relative one, before the real directories.
        let env = GitFixture.plainEnvironment.merging([
            "PATH": ":bin:" + (sandbox.environment["PATH"] ?? "/usr/bin:/bin")
        ]) { $1 }
        let get = try sandbox.run(["get", "reflow"], env: env, directory: root + "/docs")
        #expect(get.stdout == reflowKey + "\n", "\(get)")
        #expect(get.stderr.contains("would pick it up"), "the git check ran and answered: \(get)")
        #expect(!FileManager.default.fileExists(atPath: marker), "keyway get ran the repository's git")
        try? FileManager.default.removeItem(atPath: marker)
        for (arguments, directory) in [
            (["status", "reflow"], root + "/docs"), (["run", "reflow", "--", "/bin/true"], root + "/docs"),
            (["leak-check", "--no-home", root], root), (["leak-check", "--no-home", "--history", root], root),
            (["leak-check", "--staged"], root),
        ] {
            let result = try sandbox.run(arguments, env: env, directory: directory)
            #expect(
                !FileManager.default.fileExists(atPath: marker),
                "keyway \(arguments.joined(separator: " ")) ran the repository's git: \(result)")
            try? FileManager.default.removeItem(atPath: marker)
        }
    }

    /// Runs keyway under `timeout` (so that a hang fails the test instead of blocking the suite); returns the result
    /// and how long it took.
    func runBounded(_ sandbox: Sandbox, _ arguments: [String], env: [String: String], directory: String) throws
        -> (RunResult, Double)
    {
        let start = Date()
        let result = try runProcess(
            "/usr/bin/timeout", ["-s", "KILL", "60", keywayBinary] + arguments,
            environment: sandbox.environment.merging(env) { $1 }, directory: directory)
        return (result, Date().timeIntervalSince(start))
    }

    @Test(
        "a git that never answers (.git/config is a FIFO): get gives the key and a warning within the bound; leak-check exits 2"
    )
    func gitThatNeverAnswers() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/fifo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "README", "x\n")
        try GitFixture.commitAll(root)
        let reflowKey = "rfl_0123456789abcdef0123"
        try makeFile(root + "/reflow.key", reflowKey + "\n")
        #expect(unlink(root + "/.git/config") == 0)
        #expect(mkfifo(root + "/.git/config", 0o600) == 0)
        let env = GitFixture.plainEnvironment
        let (get, seconds) = try runBounded(sandbox, ["get", "reflow"], env: env, directory: root)
        #expect(get.status == 0, "\(get)")
        #expect(get.stdout == reflowKey + "\n", "\(get)")
        #expect(get.stderr.contains("git could not say"), "\(get)")
        #expect(get.stderr.contains("did not answer within 10 s"), "\(get)")
        #expect(seconds < 30, "get took \(seconds) s")

        let (check, checkSeconds) = try runBounded(
            sandbox, ["leak-check", "--no-home", root], env: env.merging(["KEYWAY_GIT_TIMEOUT": "2"]) { $1 },
            directory: sandbox.root)
        #expect(check.status == 2, "\(check)")
        #expect((check.stdout + check.stderr).contains("did not answer within 2 s in \(root)"), "\(check)")
        #expect(checkSeconds < 30, "leak-check took \(checkSeconds) s")

        let (bad, _) = try runBounded(
            sandbox, ["leak-check", "--no-home", root], env: env.merging(["KEYWAY_GIT_TIMEOUT": "soon"]) { $1 },
            directory: sandbox.root)
        #expect(bad.status == 2, "\(bad)")
        #expect((bad.stdout + bad.stderr).contains("KEYWAY_GIT_TIMEOUT must be a whole number of seconds"), "\(bad)")
    }

    @Test("leak-check --history: a cat-file stuck on a FIFO in the object store is stopped after KEYWAY_GIT_TIMEOUT")
    func catFileThatNeverAnswers() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/fifo-object"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.txt", "a\n")
        try GitFixture.commitAll(root)
        // A blob only history holds: one the working tree holds too is not read again (it was just scanned).
        let oid = try GitFixture.git(["rev-parse", "HEAD:a.txt"], in: root).filter(\.isHexDigit)
        try GitFixture.write(root, "a.txt", "b\n")
        try GitFixture.commitAll(root)
        try GitFixture.removeObject(oid, in: root)
        #expect(mkfifo(root + "/.git/objects/" + oid.prefix(2) + "/" + oid.dropFirst(2), 0o600) == 0)
        let (check, seconds) = try runBounded(
            sandbox, ["leak-check", "--no-home", "--history", root],
            env: GitFixture.plainEnvironment.merging(["KEYWAY_GIT_TIMEOUT": "2"]) { $1 }, directory: sandbox.root)
        #expect(check.status == 2, "\(check)")
        #expect((check.stdout + check.stderr).contains("git cat-file did not answer within 2 s"), "\(check)")
        #expect((check.stdout + check.stderr).contains(root), "\(check)")
        #expect(seconds < 30, "leak-check took \(seconds) s")
    }
}
