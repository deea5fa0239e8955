import Glibc
import KeywayCore
import KeywayTestSupport
import Testing

@testable import KeywayLeakCheck

/// leak-check's long-lived `git cat-file` runs through the shared spawn path (`Subprocess.Child`). Each test runs in
/// a process of its own (an exit test): signal dispositions and the environment belong to the whole process, and
/// another suite in this one (GLib's sockets ignore SIGPIPE) may change them.
@Suite("LeakCheck spawn path")
struct SpawnPathTests {
    /// A repository (`root`, in `directory`) with one commit.
    static func repository(_ prefix: String) throws -> (directory: TemporaryDirectory, root: String) {
        let directory = try TemporaryDirectory(prefix: prefix)
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "notes.txt", "one\n")
        try GitFixture.commitAll(root, "first")
        return (directory, root)
    }

    @Test("a leak-check scan with --history leaves SIGPIPE at its default disposition (cat-file ignored it)")
    func sigpipeStaysDefault() async {
        await #expect(processExitsWith: .success) {
            signal(SIGPIPE, SIG_DFL)
            let (directory, root) = try Self.repository("leak-sigpipe")
            defer { withExtendedLifetime(directory) {} }
            try GitFixture.write(root, "notes.txt", "two\n")
            try GitFixture.commitAll(root, "second")
            let report = LeakChecker(
                LeakCheckOptions(
                    paths: [root], history: true, machineAudit: false, environment: .process(),
                    workingDirectory: root, specs: [])
            ).run()
            // The blobs were read (through cat-file) and nothing failed.
            guard report.errors.isEmpty, report.blobsScanned >= 2 else { exit(2) }
            var current = sigaction()
            // SIG_DFL is the null handler.
            guard sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil else { exit(3) }
        }
    }

    @Test("cat-file's git gets exactly the environment of every other git child: no unlock material, no keys")
    func catFileEnvironment() async {
        await #expect(processExitsWith: .success) {
            let (directory, root) = try Self.repository("leak-catfile-env")
            // A `git` first in PATH that records its environment by command, then runs the real one.
            guard let git = Subprocess.executablePath("git", searchPath: Sys.environment("PATH")) else { exit(2) }
            let bin = directory.path + "/bin"
            try Sys.mkdir(bin, 0o700)
            try writeFile(
                bin + "/git",
                "#!/bin/sh\ncase \"$*\" in *cat-file*) n=cat-file;; *ls-files*) n=ls-files;; *) n=other;; esac\n"
                    + "/usr/bin/env > '\(directory.path)/env-'$n\nexec '\(git)' \"$@\"\n", mode: 0o700)
            setenv("PATH", bin + ":" + (Sys.environment("PATH") ?? "/usr/bin:/bin"), 1)
            setenv("KEYWAY_PASSPHRASE", "marker-passphrase-0123", 1)
            setenv("REFLEX_API_KEY", "rfx_marker0123456789", 1)
            setenv("GIT_DIR", directory.path + "/elsewhere", 1)
            let runner = GitRunner(root: root)
            let oid = try runner.indexEntries().first?.oid ?? ""
            let check = try CatFileBatch(runner, checkOnly: true)
            let info = try check.info([oid])
            check.finish()
            guard info.first??.type == "blob" else { exit(3) }
            func environment(_ kind: String) throws -> Set<String>? {
                guard let bytes = try readFile(directory.path + "/env-" + kind) else { return nil }
                return Set(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init))
            }
            guard let catFile = try environment("cat-file"), let other = try environment("ls-files") else { exit(4) }
            guard catFile == other else { exit(5) }
            guard catFile.contains("GIT_ALLOW_PROTOCOL=_"), catFile.contains("GIT_NO_LAZY_FETCH=1") else { exit(6) }
            guard
                !catFile.contains(where: {
                    $0.hasPrefix("KEYWAY_") || $0.hasPrefix("REFLEX_") || $0.hasPrefix("GIT_DIR=")
                })
            else { exit(7) }
        }
    }

    @Test("no descriptor of an open cat-file (its input, output, error file) reaches another child")
    func descriptorsStayPrivate() async {
        await #expect(processExitsWith: .success) {
            let (directory, root) = try Self.repository("leak-catfile-fds")
            defer { withExtendedLifetime(directory) {} }
            // What a child started now holds beyond standard input, output and error.
            func inherited() throws -> Set<String> {
                let script = #"for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && readlink "$f"; done; true"#
                let result = try Subprocess.run(["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"])
                return Set(result.stdoutText.split(separator: "\n").map(String.init))
            }
            let before = try inherited()
            let runner = GitRunner(root: root)
            let batch = try CatFileBatch(runner)
            let check = try CatFileBatch(runner, checkOnly: true)
            let after = try inherited()
            batch.finish()
            check.finish()
            guard after.subtracting(before).isEmpty else { exit(2) }
        }
    }
}
