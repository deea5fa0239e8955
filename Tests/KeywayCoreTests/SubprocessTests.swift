import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

@Suite("Subprocess")
struct SubprocessTests {
    @Test("a program is found only in PATH's absolute directories, in order, and must be an executable file")
    func executablePath() throws {
        let directory = try TemporaryDirectory(prefix: "keyway-subprocess")
        let root = directory.path
        try Sys.mkdir(root + "/a", 0o755)
        try Sys.mkdir(root + "/b", 0o755)
        try writeFile(root + "/a/tool", "#!/bin/sh\n", mode: 0o644)  // not executable
        try writeFile(root + "/b/tool", "#!/bin/sh\n", mode: 0o755)
        try Sys.mkdir(root + "/a/dir", 0o755)
        #expect(Subprocess.executablePath("tool", searchPath: "\(root)/a:\(root)/b") == root + "/b/tool")
        #expect(Subprocess.executablePath("dir", searchPath: "\(root)/a") == nil)
        // Empty and relative entries are never searched, whatever the current directory holds.
        #expect(Subprocess.executablePath("sh", searchPath: ":.:bin") == nil)
        #expect(Subprocess.executablePath("sh", searchPath: nil) != nil)
        #expect(Subprocess.executablePath("/bin/sh", searchPath: "") == "/bin/sh")
        #expect(Subprocess.executablePath("./git", searchPath: "/usr/bin") == nil)
        #expect(Subprocess.absoluteSearchPath(":bin:/usr/bin::.:/bin") == "/usr/bin:/bin")
        #expect(Subprocess.absoluteSearchPath(":bin:.") == nil)
        let env = Git.childEnvironment(from: Environment(["PATH": ":bin:/usr/bin:", "HOME": "/h"]))
        #expect(env["PATH"] == "/usr/bin")
        #expect(Git.childEnvironment(from: Environment(["PATH": ".:"]))["PATH"] == nil)
    }

    @Test("a timeout kills the child and what it started, reaps it, and throws timedOut")
    func timeout() throws {
        let directory = try TemporaryDirectory(prefix: "keyway-subprocess")
        let marker = directory.path + "/grandchild-survived"
        let pidFile = directory.path + "/grandchild.pid"
        let start = Date()
        #expect(throws: SubprocessError.timedOut(seconds: 1)) {
            try Subprocess.run(
                ["/bin/sh", "-c", "(sleep 2; touch '\(marker)') & echo $! >'\(pidFile)'; sleep 30"],
                environment: ["PATH": "/usr/bin:/bin"], timeout: 1)
        }
        #expect(Date().timeIntervalSince(start) < 5)
        // Wait for the background subshell to end: killed with the group at once, or (were it not) after it has
        // touched the marker 2 s later.
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let grandchild = try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), "\(text)")
        try waitUntil("the background subshell \(grandchild) to end", timeout: 20) { processHasEnded(grandchild) }
        #expect(!FileManager.default.fileExists(atPath: marker), "the process group was not killed")
        let quick = try Subprocess.run(["/bin/echo", "hi"], environment: [:], timeout: 5)
        #expect(quick.status == 0 && quick.stdoutText == "hi\n")
        #expect(throws: SubprocessError.cannotStart("no-such-program-keyway", .noEntry)) {
            try Subprocess.run(["no-such-program-keyway"], environment: ["PATH": "/usr/bin:/bin"])
        }
    }
}

/// A child (a git) starts with SIGPIPE at its default disposition even when this process ignores it (GLib does, in
/// the keyring backend). An exit test: the disposition belongs to the whole process.
@Suite("Subprocess signals")
struct SubprocessSignalTests {
    @Test("a spawned child has SIGPIPE at its default disposition though Keyway ignores it")
    func childGetsDefaultSigpipe() async {
        await #expect(processExitsWith: .success) {
            signal(SIGPIPE, SIG_IGN)
            let result = try Subprocess.run(
                ["/bin/sh", "-c", "sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status"],
                environment: ["PATH": "/usr/bin:/bin"])
            guard result.status == 0,
                let mask = UInt64(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16)
            else { exit(2) }
            // Bit SIGPIPE - 1 of the mask of ignored signals.
            exit(mask & (1 << (UInt64(SIGPIPE) - 1)) == 0 ? 0 : 3)
        }
    }
}
