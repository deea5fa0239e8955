import Foundation
import KeywayTestSupport
import Testing

/// A spawn-path review finding: keyway started with SIGCHLD ignored (some daemons and CI runners start children so)
/// had every wait for a git child fail (the kernel reaped them: ECHILD), so leak-check exited 2. Keyway now runs with
/// SIGCHLD at its default, and `keyway run` gives CMD the ignore back, with every other signal ignored at start.
@Suite struct InheritedSignalTests {
    /// Bit `signal - 1` of `/proc/self/status`' SigIgn mask.
    static func ignored(_ signal: Int, in status: String) throws -> Bool {
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("SigIgn:") }, "\(status)")
        let mask = try #require(UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16))
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    @Test func gitChildrenWorkWhenSigchldIsIgnoredAtStart() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let repository = sandbox.root + "/repo"
        try GitFixture.initialize(repository)
        try GitFixture.write(repository, "notes.txt", "nothing secret\n")
        try GitFixture.commitAll(repository, "first")
        let scan = try runProcess(
            "/usr/bin/env", ["--ignore-signal=CHLD", keywayBinary, "leak-check", "--history", repository],
            environment: sandbox.environment)
        #expect(scan.status == 0, "\(scan)")
        #expect(scan.stdout.contains("No leaks found"), "\(scan)")
    }

    @Test func runGivesTheCommandTheSignalsIgnoredAtStart() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try #require(try sandbox.run(["login", "reflex", "--api-key", "rfx_sigchld_0123456789"]).status == 0)
        let run = try runProcess(
            "/usr/bin/env",
            [
                "--ignore-signal=CHLD", "--ignore-signal=HUP", keywayBinary, "run", "reflex", "--", "/bin/cat",
                "/proc/self/status",
            ],
            environment: sandbox.environment)
        #expect(run.status == 0, "\(run)")
        #expect(try Self.ignored(17, in: run.stdout), "SIGCHLD ignored at start is ignored in CMD: \(run)")
        #expect(try Self.ignored(1, in: run.stdout), "SIGHUP ignored at start (nohup) is ignored in CMD: \(run)")
    }
}
