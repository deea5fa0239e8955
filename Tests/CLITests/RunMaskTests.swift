import Foundation
import Glibc
import KeywayCore
import KeywayTestSupport
import Testing

/// Issue 16: `keyway run --mask`, through pipes (standard output not a terminal: the default) and under a
/// pseudo-terminal of the test's own.
@Suite struct RunMaskTests {
    static let key = "rfx_Mask+Key/0123456789=x"

    static func sandbox() throws -> Sandbox {
        let sandbox = try Sandbox(backend: "plaintext")
        try #require(try sandbox.run(["login", "reflex", "--api-key", key]).status == 0)
        return sandbox
    }

    static var forms: [String] {
        let data = Data(key.utf8)
        let b64 = data.base64EncodedString()
        let url = b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let percent = key.addingPercentEncoding(
            withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))!
        let hex = data.map { String(format: "%02x", $0) }.joined()
        return [key, b64, url, percent, hex, hex.uppercased(), Data("user:\(key)".utf8).base64EncodedString()]
    }

    @Test func eachEncodedFormIsMaskedByDefaultWhenStdoutIsNotATerminal() throws {
        let s = try Self.sandbox()
        let script = Self.forms.map { "echo 'out \($0) end'; echo 'err \($0) end' >&2" }.joined(separator: "; ")
        let run = try s.run(["run", "reflex", "--", "/bin/sh", "-c", script + "; exit 5"])
        #expect(run.status == 5, "\(run)")
        for form in Self.forms {
            #expect(!run.stdout.contains(form) && !run.stderr.contains(form), "\(form): \(run)")
        }
        #expect(!run.stdout.contains("0123456789") && !run.stderr.contains("0123456789"), "\(run)")
        // Base64 padding stays, and in `user:KEY` the characters that also depend on `user:`.
        let expected = [
            "<keyway:reflex> end", "<keyway:reflex>== end", "<keyway:reflex>== end", "<keyway:reflex> end",
            "<keyway:reflex> end", "<keyway:reflex> end", "dXNlcjpy<keyway:reflex> end",
        ]
        #expect(run.stdout == expected.map { "out " + $0 + "\n" }.joined(), "\(run)")
        #expect(run.stderr == expected.map { "err " + $0 + "\n" }.joined(), "\(run)")
        // Asked off: the key is CMD's to print.
        for off in [(["--no-mask"], [String: String]()), ([], ["KEYWAY_MASK": "0"])] {
            let plain = try s.run(
                ["run", "reflex"] + off.0 + ["--", "/bin/sh", "-c", "echo $REFLEX_API_KEY"], env: off.1)
            #expect(plain.stdout == Self.key + "\n", "\(plain)")
        }
    }

    @Test func aKeyWrittenOneByteAtATimeOnBothStreams() throws {
        let s = try Self.sandbox()
        let script = """
            printf 'a %s b %s c\\n' "$REFLEX_API_KEY" "$REFLEX_API_KEY" | dd bs=1 status=none; \
            printf 'e %s f\\n' "$REFLEX_API_KEY" | dd bs=1 status=none >&2
            """
        let run = try s.run(["run", "reflex", "--mask", "--", "/bin/sh", "-c", script])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == "a <keyway:reflex> b <keyway:reflex> c\n", "\(run)")
        #expect(run.stderr == "e <keyway:reflex> f\n", "\(run)")
    }

    @Test func interleavedStdoutAndStderrKeepTheirOrder() throws {
        let s = try Self.sandbox()
        let script =
            "i=0; while [ $i -lt 300 ]; do echo \"o$i $REFLEX_API_KEY\"; echo \"e$i $REFLEX_API_KEY\" >&2; i=$((i+1)); done"
        let run = try s.run(["run", "reflex", "--", "/bin/sh", "-c", script])
        #expect(run.status == 0, "\(run.status)")
        #expect(run.stdout == (0..<300).map { "o\($0) <keyway:reflex>\n" }.joined())
        #expect(run.stderr == (0..<300).map { "e\($0) <keyway:reflex>\n" }.joined())
    }

    @Test func exitStatusAndSignalsPassThrough() throws {
        let s = try Self.sandbox()
        // Every signal at its default first: the test runner may ignore some, and keyway (like an exec) passes an
        // ignored signal on ignored.
        for (script, status) in [
            ("exit 0", Int32(0)), ("exit 1", 1), ("exit 130", 130), ("kill -TERM $$", 15), ("kill -KILL $$", 9),
        ] {
            let run = try runProcess(
                "/usr/bin/env",
                ["--default-signal", keywayBinary, "run", "reflex", "--mask", "--", "/bin/sh", "-c", script],
                environment: s.environment)
            #expect(run.status == status, "\(script): \(run)")
        }
        // A signal sent to keyway reaches CMD (and CMD's death by it is keyway's).
        let marker = s.root + "/got-term"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "--default-signal", keywayBinary, "run", "reflex", "--mask", "--", "/bin/sh", "-c",
            "trap 'touch \(marker); exit 42' TERM; echo ready; while :; do sleep 0.05; done",
        ]
        process.environment = s.environment
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        _ = out.fileHandleForReading.availableData  // "ready"
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 42)
        #expect(FileManager.default.fileExists(atPath: marker))
    }

    @Test func theLoneUnmaskedPathIsStillExec() throws {
        let s = try Self.sandbox()
        // Unmasked: CMD is keyway (same pid); masked: CMD is keyway's child.
        for (flag, same) in [("--no-mask", true), ("--mask", false)] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: keywayBinary)
            process.arguments = ["run", "reflex", flag, "--", "/bin/sh", "-c", "echo $$"]
            process.environment = s.environment
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(
                (Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) == process.processIdentifier) == same,
                "\(flag): \(text)")
        }
    }
}

/// Drives keyway on a pseudo-terminal of the test's own (keyway leads a new session on it, as a login shell's job
/// would), so that keyway's standard input and output are a terminal.
final class TerminalRun {
    let master: Int32
    let pid: pid_t
    var transcript = ""

    init(_ arguments: [String], environment: [String: String], rows: Int = 24, columns: Int = 80) throws {
        let (master, slave) = try PseudoTerminal.open()
        self.master = master
        PseudoTerminal.setWindowSize(master, rows: rows, columns: columns)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, slave, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        let env = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        // Every signal at its default (the test runner may ignore some; see `exitStatusAndSignalsPassThrough`).
        pid = try Subprocess.spawn(
            program: "/usr/bin/env", ["env", "--default-signal", keywayBinary] + arguments, environment: env,
            actions: &actions, group: .newSession,
            defaultSIGPIPE: true)
    }

    deinit { close(master) }

    /// Reads until `text` has appeared (or 10 s have passed); the transcript so far.
    @discardableResult
    func read(until text: String, timeout: Double = 10) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !transcript.contains(text), Date() < deadline {
            var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            transcript += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return transcript
    }

    func write(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
    }

    /// keyway's wait status, the rest of its output read.
    func finish() -> Int32 {
        read(until: "\u{0}", timeout: 2)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return status
    }
}

@Suite(.serialized) struct RunTerminalTests {
    static func run(_ arguments: [String], _ s: Sandbox) throws -> TerminalRun {
        try TerminalRun(arguments, environment: s.environment.merging(["TERM": "xterm"]) { $1 })
    }

    @Test func maskedUnderAPseudoTerminalIsATerminal() throws {
        let s = try RunMaskTests.sandbox()
        let t = try Self.run(
            [
                "run", "reflex", "--mask", "--", "/bin/sh", "-c",
                "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo TTY-YES; echo key=$REFLEX_API_KEY; echo pid=$$",
            ], s)
        let text = t.read(until: "pid=")
        let status = t.finish()
        #expect(status == 0, "\(t.transcript)")
        #expect(text.contains("TTY-YES"), "\(text)")
        #expect(text.contains("key=<keyway:reflex>") && !t.transcript.contains(RunMaskTests.key), "\(t.transcript)")
        #expect(!t.transcript.contains("pid=\(t.pid)\r"), "masked: CMD is keyway's child")
    }

    @Test func unmaskedOnATerminalByDefaultIsExec() throws {
        let s = try RunMaskTests.sandbox()
        let t = try Self.run(["run", "reflex", "--", "/bin/sh", "-c", "echo key=$REFLEX_API_KEY; echo pid=$$"], s)
        t.read(until: "pid=\(t.pid)")
        let status = t.finish()
        #expect(status == 0)
        #expect(t.transcript.contains("key=\(RunMaskTests.key)"), "\(t.transcript)")
        #expect(t.transcript.contains("pid=\(t.pid)\r"), "no masking process: CMD has keyway's pid: \(t.transcript)")
    }

    @Test func windowSizeAndItsChangeReachTheCommand() throws {
        let s = try RunMaskTests.sandbox()
        let t = try Self.run(
            [
                "run", "reflex", "--mask", "--", "/bin/sh", "-c",
                "stty size; trap 'stty size; exit 0' WINCH; echo READY; while :; do sleep 0.05; done",
            ], s)
        t.read(until: "READY")
        #expect(t.transcript.contains("24 80"), "\(t.transcript)")
        PseudoTerminal.setWindowSize(t.master, rows: 50, columns: 132)
        t.read(until: "50 132")
        let status = t.finish()
        #expect(t.transcript.contains("50 132"), "\(t.transcript)")
        #expect(status == 0, "\(t.transcript)")
    }

    @Test func controlCReachesTheCommand() throws {
        let s = try RunMaskTests.sandbox()
        let t = try Self.run(
            [
                "run", "reflex", "--mask", "--", "/bin/sh", "-c",
                "trap 'echo GOT-INT; exit 130' INT; echo READY; while :; do sleep 0.05; done",
            ], s)
        t.read(until: "READY")
        t.write("\u{03}")
        t.read(until: "GOT-INT")
        let status = t.finish()
        #expect(t.transcript.contains("GOT-INT"), "\(t.transcript)")
        #expect(status >> 8 == 130 && status & 0x7F == 0, "exit 130: \(status)")
    }

    @Test func exitStatusesAndSignals() throws {
        let s = try RunMaskTests.sandbox()
        for (script, exit, signal) in [
            ("exit 0", Int32(0), Int32(0)), ("exit 1", 1, 0), ("exit 130", 130, 0), ("kill -TERM $$", 0, 15),
            ("kill -INT $$", 0, 2),
        ] {
            let t = try Self.run(["run", "reflex", "--mask", "--", "/bin/sh", "-c", script], s)
            let status = t.finish()
            #expect(status & 0x7F == signal, "\(script): \(status)")
            if signal == 0 { #expect(status >> 8 == exit, "\(script): \(status)") }
        }
    }
}
