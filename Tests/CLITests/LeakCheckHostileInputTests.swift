import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a measured run of the `keyway` binary produced.
private struct MeasuredRun: CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String
    /// Peak resident set of the process and every descendant it waited for (git), in KiB.
    let maxRSSKiB: Int
    let seconds: Double
    let timedOut: Bool

    var description: String {
        "exit \(status)\(timedOut ? " (killed after the timeout)" : ""), \(maxRSSKiB) KiB peak, \(seconds) s\n"
            + "--- stdout\n\(stdout.prefix(4000))--- stderr\n\(stderr.prefix(4000))"
    }
}

/// Forks, execs the command, kills it after the timeout and writes `ru_maxrss` of that child (from `wait4`, so
/// every descendant it waited for is included) and whether it was killed. Run through python3 (which the tests
/// need anyway) because the peak a child reports includes the memory of the process it was spawned from: a child
/// the test process spawned directly would report the test process's own peak.
private let measuringWrapper = """
    import os, signal, sys
    report, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    pid = os.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    killed = []
    def expire(*_):
        killed.append(1)
        os.kill(pid, signal.SIGKILL)
    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            pass
    signal.setitimer(signal.ITIMER_REAL, 0)
    with open(report, "w") as f:
        f.write("%d %d\\n" % (usage.ru_maxrss, 1 if killed else 0))
    sys.exit(os.waitstatus_to_exitcode(status) & 0xff if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    """

/// Runs `keyway leak-check ARGS`, measuring the peak RSS of that run alone (git included), killed after `timeout`
/// seconds.
private func measuredLeakCheck(_ sandbox: Sandbox, _ arguments: [String], timeout: Double = 60) throws -> MeasuredRun {
    let report = sandbox.root + "/measured.rss"
    let start = Date()
    let result = try runProcess(
        "/usr/bin/python3", ["-c", measuringWrapper, report, String(timeout), keywayBinary, "leak-check"] + arguments,
        environment: sandbox.environment.merging(GitFixture.plainEnvironment) { $1 })
    let seconds = Date().timeIntervalSince(start)
    let fields = String(decoding: try readFile(report) ?? [], as: UTF8.self).split(separator: " ")
    guard fields.count == 2, let rss = Int(fields[0]) else {
        throw GitFixture.Failure(description: "the measuring wrapper wrote no report: \(result)")
    }
    return MeasuredRun(
        status: result.status, stdout: result.stdout, stderr: result.stderr, maxRSSKiB: rss, seconds: seconds,
        timedOut: fields[1].hasPrefix("1"))
}

private func leakCheck(_ sandbox: Sandbox, _ arguments: [String]) throws -> RunResult {
    try sandbox.run(["leak-check"] + arguments, env: GitFixture.plainEnvironment)
}

private func jsonFindings(_ result: RunResult) throws -> [JSON] {
    guard case .array(let items)? = try JSON.parse(result.stdout)["findings"] else {
        throw GitFixture.Failure(description: "no findings array: \(result)")
    }
    return items
}

/// A sparse file of `size` bytes (no disk blocks).
private func makeSparseFile(_ path: String, size: Int) throws {
    let fd = try Sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { Sys.close(fd) }
    guard ftruncate(fd, off_t(size)) == 0 else { throw Errno.current }
}

/// The control characters (C0 but newline, DEL, C1) in `text`.
private func rawControls(_ text: String) -> [UInt32] {
    text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || ($0.value >= 0x7F && $0.value <= 0x9F) }
        .map(\.value)
}

@Suite("LeakCheck hostile input", .serialized)
struct LeakCheckHostileInputTests {
    @Test("symbolic links inside a repository are never followed: nothing outside is read, stat'ed or printed")
    func symbolicLinks() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let outside = sandbox.root + "/outside"
        try Sys.mkdir(outside, 0o755)
        try writeFile(outside + "/app.txt", "token=\(Planted.githubOutside)\n", mode: 0o644)
        try writeFile(outside + "/.env", "REFLEX_API_KEY=\(Planted.reflexOutside)\n", mode: 0o644)
        // A repository outside, reachable through a submodule path that is a symbolic link.
        let other = outside + "/other"
        try GitFixture.initialize(other)
        try GitFixture.write(other, "x.txt", "k=\(Planted.githubOutside)\n")
        try GitFixture.commitAll(other)

        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "conf/app.txt", "nothing\n")
        try GitFixture.write(root, "a.txt", "k=\(Planted.github)\n")
        try GitFixture.commitAll(root)
        let otherHead = try GitFixture.git(["rev-parse", "HEAD"], in: other).trimmingCharacters(
            in: .whitespacesAndNewlines)
        try GitFixture.git(["update-index", "--add", "--cacheinfo", "160000,\(otherHead),sub"], in: root)
        try GitFixture.git(["commit", "-q", "-m", "sub"], in: root)
        // The tracked directory replaced by a link outside; a link to a directory; a symlinked credentials file;
        // the submodule's checkout a link to another repository.
        removeTree(root + "/conf")
        #expect(symlink(outside, root + "/conf") == 0)
        #expect(symlink(outside, root + "/link") == 0)
        #expect(symlink(outside + "/.env", root + "/.env") == 0)
        #expect(symlink(other, root + "/sub") == 0)

        let text = try leakCheck(sandbox, [root, "--no-home", "--show-secrets"])
        #expect(text.status == 1, "\(text)")
        #expect(text.stdout.contains("Secret: \(Planted.github)"), "\(text)")
        #expect(!text.stdout.contains(Planted.githubOutside), "a key outside the repository was read: \(text)")
        #expect(!text.stdout.contains(Planted.reflexOutside), "a key outside the repository was read: \(text)")
        #expect(!text.stdout.contains(outside + "/other"), "a repository outside was scanned: \(text)")
        #expect(text.stdout.contains("a directory on the way is a symbolic link"), "\(text)")
        #expect(text.stdout.contains(root + "/conf/app.txt"), "\(text)")

        let json = try leakCheck(sandbox, [root, "--no-home", "--show-secrets", "--format", "json"])
        #expect(!json.stdout.contains(Planted.githubOutside) && !json.stdout.contains(Planted.reflexOutside), "\(json)")
        let items = try jsonFindings(json)
        // The link's target (0644, outside) was not examined: no permission finding through the link.
        #expect(!items.contains { $0["rule"]?.stringValue == "file-permissions" }, "\(json)")
        #expect(Set(items.compactMap { $0["repository"]?.stringValue }) == [root], "\(json)")
        // The credentials file is still reported by name.
        #expect(
            items.contains {
                $0["rule"]?.stringValue == "credentials-file-untracked" && $0["path"]?.stringValue == root + "/.env"
            })
    }

    @Test("file names with terminal escape sequences are escaped in the text report and on standard error")
    func escapeSequences() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        let title = "x\u{1B}]0;owned\u{07}\u{1B}[2J\u{7F}.key"
        let csi = "c\u{9B}31mred\n.txt"
        try GitFixture.write(root, title, "nothing\n", mode: 0o600)
        try GitFixture.write(root, csi, "k=\(Planted.github)\n")
        let text = try leakCheck(sandbox, [root, "--no-home"])
        #expect(text.status == 1, "\(text)")
        #expect(rawControls(text.stdout).isEmpty, "raw control characters \(rawControls(text.stdout)) in \(text)")
        #expect(text.stdout.contains("x\\x1b]0;owned\\x07\\x1b[2J\\x7f.key"), "\(text)")
        #expect(text.stdout.contains("c\\u{9b}31mred\\x0a.txt:1"), "\(text)")

        // JSON escapes them too (C1 included), and parses back to the names.
        let json = try leakCheck(sandbox, [root, "--no-home", "--format", "json"])
        #expect(rawControls(json.stdout).isEmpty, "raw control characters in \(json)")
        #expect(try jsonFindings(json).contains { $0["path"]?.stringValue == root + "/" + csi })

        // Errors printed to standard error (JSON mode) are escaped.
        let missing = try leakCheck(sandbox, [root + "/nope\u{1B}[8m\u{9B}", "--no-home", "--format", "json"])
        #expect(missing.status == 2)
        #expect(rawControls(missing.stderr).isEmpty, "\(missing)")
        #expect(missing.stderr.contains("nope\\x1b[8m\\u{9b}"), "\(missing)")
    }

    @Test("the git-repository warning escapes control characters in the repository's name")
    func warningEscapes() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let repo = sandbox.root + "/clone\u{1B}]0;owned\u{07}\u{9B}2J"
        try GitFixture.initialize(repo)
        try makeFile(repo + "/conf/credentials.json", "{\"api_key\": \"\(Planted.reflex)\"}")
        let result = try sandbox.run(["get", "reflex"], env: ["REFLEX_CONFIG_DIR": repo + "/conf"])
        #expect(result.stdout == Planted.reflex + "\n", "\(result)")
        #expect(
            result.stderr.contains("inside the git repository \(sandbox.root)/clone\\x1b]0;owned\\x07\\u{9b}2J"),
            "\(result)")
        #expect(rawControls(result.stderr).isEmpty, "\(result)")
    }

    @Test("a 100 GB sparse file in the working tree is skipped with a note, quickly and in bounded memory")
    func sparseFile() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.txt", "k=\(Planted.github)\n")
        try makeSparseFile(root + "/huge.bin", size: 100 << 30)
        let run = try measuredLeakCheck(sandbox, [root, "--no-home", "--format", "json"])
        #expect(!run.timedOut && run.seconds < 30, "\(run)")
        #expect(run.status == 1, "\(run)")
        #expect(run.maxRSSKiB < 100 * 1024, "\(run)")
        let notes = try JSON.parse(run.stdout)["notes"]
        guard case .array(let items)? = notes else {
            Issue.record("no notes: \(run)")
            return
        }
        #expect(
            items.contains {
                $0.stringValue?.contains("larger than the 64 MiB limit: \(root)/huge.bin (100.0 GiB)") == true
            }, "\(run)")
        // The key beside it is still found.
        #expect(run.stdout.contains("github-token"))
    }

    @Test("a binary file under the size limit is recognised from its first bytes and not read whole")
    func binaryUnderTheLimit() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.txt", "nothing\n")
        try makeSparseFile(root + "/image.bin", size: 60 << 20)
        let run = try measuredLeakCheck(sandbox, [root, "--no-home"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == "No leaks found (1 repository, 2 files).\n", "\(run)")
        #expect(run.maxRSSKiB < 50 * 1024, "peak RSS \(run.maxRSSKiB) KiB for a 60 MiB binary file: \(run)")

        // The same as a blob, staged and in history.
        try GitFixture.git(["add", "image.bin"], in: root)
        let staged = try measuredLeakCheck(sandbox, [root, "--staged", "--format", "json"])
        #expect(staged.status == 0, "\(staged)")
        #expect(staged.maxRSSKiB < 50 * 1024, "peak RSS \(staged.maxRSSKiB) KiB for a 60 MiB binary blob: \(staged)")
        try GitFixture.commitAll(root)
        try GitFixture.git(["rm", "-q", "image.bin"], in: root)
        try GitFixture.git(["commit", "-q", "-m", "remove"], in: root)
        let history = try measuredLeakCheck(sandbox, [root, "--no-home", "--history"])
        #expect(history.status == 0, "\(history)")
        #expect(history.stdout.hasSuffix("(1 repository, 1 file, 2 commits, 2 blobs).\n"), "\(history)")
        #expect(history.maxRSSKiB < 50 * 1024, "peak RSS \(history.maxRSSKiB) KiB for a 60 MiB binary blob: \(history)")
    }

    @Test("a 200 MB blob in history is never read whole: peak memory stays far below its size")
    func largeBlob() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.txt", "nothing\n")
        try makeSparseFile(root + "/zero.dat", size: 200 << 20)
        try GitFixture.commitAll(root, "blob")
        let commit = try GitFixture.git(["rev-parse", "HEAD"], in: root).trimmingCharacters(in: .whitespacesAndNewlines)
        try GitFixture.git(["rm", "-q", "zero.dat"], in: root)
        try GitFixture.write(root, "old.txt", "k=\(Planted.github)\n")
        try GitFixture.commitAll(root, "remove")
        try GitFixture.git(["rm", "-q", "old.txt"], in: root)
        try GitFixture.git(["commit", "-q", "-m", "clean"], in: root)
        let run = try measuredLeakCheck(sandbox, [root, "--no-home", "--history", "--format", "json"])
        #expect(!run.timedOut, "\(run)")
        #expect(run.status == 1, "\(run)")
        #expect(run.maxRSSKiB < 100 * 1024, "peak RSS \(run.maxRSSKiB) KiB for a 200 MiB blob: \(run)")
        #expect(run.stdout.contains("\(root)/zero.dat @ \(commit.prefix(12)) (200 MiB)"), "\(run)")
        // The history's small blobs are still read.
        #expect(run.stdout.contains("github-token"), "\(run)")
    }

    @Test("text wording: the app named in the fix, uncommitted and staged edits, singular counts, a missing PATH")
    func wording() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "committed.txt", "k=\(Planted.reflex)\n")
        try GitFixture.write(root, "edited.txt", "nothing\n")
        try GitFixture.write(root, "staged.txt", "nothing\n")
        try GitFixture.commitAll(root)
        try GitFixture.write(root, "staged.txt", "k=\(Planted.reflex)\n")
        try GitFixture.git(["add", "staged.txt"], in: root)
        try GitFixture.write(root, "edited.txt", "k=\(Planted.reflex)\n")
        let masked = Masking.mask(Planted.reflex, knownPrefix: "rfx_")
        let text = try leakCheck(sandbox, [root, "--no-home"])
        #expect(text.status == 1, "\(text)")
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func block(_ file: String) -> [String] {
            guard let start = lines.firstIndex(where: { $0.hasPrefix("  ERROR reflex-api-key: \(file):1") }),
                start + 2 < lines.count
            else { return [] }
            return Array(lines[start...(start + 2)])
        }
        #expect(
            block("committed.txt") == [
                "  ERROR reflex-api-key: committed.txt:1 (tracked)",
                "    reflex API key \(masked) at committed.txt:1, tracked by git in \(root).",
                "    Fix: Remove the key from the file and rotate it: it is in the repository's history. Keep the "
                    + "replacement in Keyway (keyway login reflex) and pass it at run time (keyway run reflex -- CMD).",
            ], "\(text)")
        #expect(
            block("edited.txt") == [
                "  ERROR reflex-api-key: edited.txt:1 (tracked)",
                "    reflex API key \(masked) at edited.txt:1, in an uncommitted change to a file tracked by git in \(root).",
                "    Fix: Remove the key from the file before committing (git commit -a would take it); keep it in Keyway "
                    + "(keyway login reflex) and pass it at run time (keyway run reflex -- CMD).",
            ], "\(text)")
        #expect(
            block("staged.txt") == [
                "  ERROR reflex-api-key: staged.txt:1 (tracked)",
                "    reflex API key \(masked) at staged.txt:1, in a change to a tracked file, staged for the next commit "
                    + "in \(root).",
                "    Fix: Remove the key from the file and restage it (git add), or unstage the change; keep the key in "
                    + "Keyway (keyway login reflex) and pass it at run time (keyway run reflex -- CMD).",
            ], "\(text)")
        #expect(!text.stdout.contains("APP"), "\(text)")
        #expect(text.stdout.hasSuffix("3 error(s), 0 warning(s), 0 info (1 repository, 3 files).\n"), "\(text)")

        // A key Keyway stores under one app: the fix names that app too.
        let stored = "Zq8Wc3Lm5Nv7Bx1Ty9UaPo2Rk4"
        #expect(try sandbox.run(["login", "myapp", "--api-key", stored]).status == 0)
        let other = sandbox.root + "/other"
        try GitFixture.initialize(other)
        try GitFixture.write(other, "deploy.sh", "curl -H 'X-Key: \(stored)' https://example.invalid\n")
        let storedRun = try leakCheck(sandbox, [other, "--no-home"])
        #expect(
            storedRun.stdout.contains(
                "    Fix: Remove the key from the file (keep it in Keyway: keyway login myapp) or ignore the file.\n"),
            "\(storedRun)")

        let clean = sandbox.root + "/clean"
        try GitFixture.initialize(clean)
        try GitFixture.write(clean, "a.txt", "nothing\n")
        let none = try leakCheck(sandbox, [clean, "--no-home"])
        #expect(none.status == 0)
        #expect(none.stdout == "No leaks found (1 repository, 1 file).\n", "\(none)")

        let missing = try leakCheck(sandbox, [sandbox.root + "/nope", "--no-home"])
        #expect(missing.status == 2)
        #expect(missing.stdout == "Error: \(sandbox.root)/nope does not exist or cannot be read.\n", "\(missing)")
    }

    @Test("--history still reports the old commit of a key that an uncommitted edit brings back")
    func uncommittedEditAndHistory() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.txt", "k=\(Planted.github)\n")
        try GitFixture.commitAll(root, "leak")
        let leak = try GitFixture.git(["rev-parse", "HEAD"], in: root).trimmingCharacters(in: .whitespacesAndNewlines)
        try GitFixture.write(root, "a.txt", "nothing\n")
        try GitFixture.commitAll(root, "fix")
        try GitFixture.write(root, "a.txt", "k=\(Planted.github)\n")
        let result = try leakCheck(sandbox, [root, "--no-home", "--history", "--format", "json"])
        #expect(result.status == 1, "\(result)")
        let items = try jsonFindings(result).filter { $0["rule"]?.stringValue == "github-token" }
        #expect(
            items.contains {
                $0["git"]?.stringValue == "tracked"
                    && $0["message"]?.stringValue?.contains("uncommitted change") == true
            }, "\(result)")
        #expect(
            items.contains { $0["git"]?.stringValue == "history" && $0["commit"]?.stringValue == leak }, "\(result)")

        // A key the last commit still holds is reported once, for the current file.
        try GitFixture.commitAll(root, "again")
        let again = try leakCheck(sandbox, [root, "--no-home", "--history", "--format", "json"])
        let current = try jsonFindings(again).filter { $0["rule"]?.stringValue == "github-token" }
        #expect(current.count == 1, "\(again)")
        #expect(current.first?["git"]?.stringValue == "tracked")
        #expect(current.first?["message"]?.stringValue?.contains("tracked by git in") == true, "\(again)")
    }
}
