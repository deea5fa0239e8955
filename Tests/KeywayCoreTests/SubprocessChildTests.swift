import Glibc
import KeywayCore
import Testing

/// `Subprocess.Child`: the long-lived child (git cat-file) that this process writes to and reads from.
@Suite("Subprocess child")
struct SubprocessChildTests {
    @Test("requests and answers go through; finish closes the input and reaps the child")
    func roundTrip() throws {
        let child = try Subprocess.Child(["/bin/cat"], environment: [:], timeout: 10)
        try child.write(Array("hello\n".utf8))
        var answer: [UInt8] = []
        while answer.count < 6 {
            let chunk = try child.read()
            #expect(!chunk.isEmpty)
            if chunk.isEmpty { break }
            answer += chunk
        }
        #expect(answer == Array("hello\n".utf8))
        child.finish()
        #expect(kill(child.pid, 0) == -1 && errno == ESRCH, "the child was not reaped")
    }

    @Test("a read that gets no answer within the timeout throws timedOut, and finish kills the child")
    func readTimeout() throws {
        let child = try Subprocess.Child(["/bin/sleep", "30"], environment: [:], timeout: 1)
        let start = Subprocess.monotonicSeconds()
        #expect(throws: SubprocessError.timedOut(seconds: 1)) { try child.read() }
        child.finish()
        #expect(Subprocess.monotonicSeconds() - start < 5)
        #expect(kill(child.pid, 0) == -1 && errno == ESRCH, "the child was not killed and reaped")
    }

    @Test("what the child writes to standard error can be read back")
    func errorOutput() throws {
        let again = try Subprocess.Child(
            ["/bin/sh", "-c", "echo 'fatal: no such object' >&2; exec cat"], environment: [:], timeout: 10)
        defer { again.finish() }
        try again.write(Array("x\n".utf8))
        #expect(try again.read() == Array("x\n".utf8))
        #expect(String(decoding: again.errorOutput(), as: UTF8.self) == "fatal: no such object\n")
        #expect(again.errorOutput(limit: 5) == Array("fatal".utf8))
    }

    @Test("a write to a child that has exited fails with EPIPE on its descriptor; no SIGPIPE is raised or ignored")
    func writeToExitedChild() async {
        // In a process of its own, with SIGPIPE at its default: a SIGPIPE would kill it.
        await #expect(processExitsWith: .success) {
            signal(SIGPIPE, SIG_DFL)
            let child = try Subprocess.Child(["/bin/true"], environment: [:], timeout: 10)
            // End of its output, and exited (a zombie: its descriptors are all released, not reaped).
            guard try child.read().isEmpty else { exit(2) }
            var info = siginfo_t()
            guard waitid(P_PID, id_t(child.pid), &info, WEXITED | WNOWAIT) == 0 else { exit(6) }
            do throws(SubprocessError) {
                try child.write(Array("request\n".utf8))
                exit(3)
            } catch {
                guard error == .writeFailed(Errno(EPIPE)) else { exit(4) }
            }
            child.finish()
            var current = sigaction()
            // SIG_DFL is the null handler.
            guard sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil else { exit(5) }
            exit(0)
        }
    }
}
