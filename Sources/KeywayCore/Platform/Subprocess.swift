internal import CKeywayPlatform
import Glibc

/// Why a child process did not run to completion.
package enum SubprocessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The program could not be started: not found in an absolute PATH directory, not executable, or the spawn
    /// failed.
    case cannotStart(String, Errno)
    /// It had not finished `seconds` seconds after it was started: it was killed with its process group.
    case timedOut(seconds: Int)
    /// Waiting for it failed.
    case waitFailed(Errno)
    /// Writing to its standard input failed (`EPIPE`: it has exited or closed its input).
    case writeFailed(Errno)
    /// Reading its standard output failed.
    case readFailed(Errno)

    public var description: String {
        switch self {
        case .cannotStart(let program, let errno):
            if errno == .noEntry, !program.contains("/") {
                return "\(program) was not found in the absolute directories of PATH"
            }
            return "cannot run \(program): \(errno)"
        case .timedOut(let seconds): return "it did not answer within \(seconds) s and was stopped"
        case .waitFailed(let errno): return "waiting for it failed: \(errno)"
        case .writeFailed(let errno): return "writing to it failed: \(errno)"
        case .readFailed(let errno): return "reading from it failed: \(errno)"
        }
    }
}

/// Runs a program to completion and collects its output. Used to ask `git` about files; never with a secret in the
/// arguments or environment. The child gets exactly the environment it is given, nothing inherited: git children
/// get theirs from `Git.childEnvironment`.
package enum Subprocess {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: [UInt8]
        public let stderr: [UInt8]
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Where a program is looked up when the environment has no PATH (glibc's default for `execvp`).
    public static let defaultSearchPath = "/bin:/usr/bin"

    /// The absolute path of the program `name`, found by this process before anything is spawned: a name with a
    /// slash must be absolute and is used as it is; a plain name is looked up in the absolute directories of
    /// `searchPath` only (an empty or relative entry, which would mean whatever directory the child runs in — a
    /// repository's root — is skipped). Nil when no executable regular file is found.
    public static func executablePath(_ name: String, searchPath: String?) -> String? {
        if name.contains("/") { return name.hasPrefix("/") ? name : nil }
        guard !name.isEmpty else { return nil }
        for entry in (searchPath ?? defaultSearchPath).split(separator: ":", omittingEmptySubsequences: false)
        where entry.hasPrefix("/") {
            let candidate = (entry.hasSuffix("/") ? String(entry) : entry + "/") + name
            guard let st = try? Sys.statFollowingLinks(candidate), FileMode.isRegular(st),
                access(candidate, X_OK) == 0
            else { continue }
            return candidate
        }
        return nil
    }

    /// Only the absolute entries of a PATH value (nil when none is left): what every git child gets, so that git
    /// itself never looks up one of its helpers (`git-remote-<name>`, dashed commands) in the directory it runs in.
    public static func absoluteSearchPath(_ value: String) -> String? {
        let kept = value.split(separator: ":", omittingEmptySubsequences: true).filter { $0.hasPrefix("/") }
        return kept.isEmpty ? nil : kept.joined(separator: ":")
    }

    /// Starts `arguments[0]`, resolved by `executablePath` from the `PATH` of `environment` (never by the child
    /// after a `chdir` in `actions`), with exactly `environment`, with `posix_spawn`. With `newProcessGroup` the
    /// child leads a process group of its own, so that `kill(-pid, ...)` stops whatever it started too. The child
    /// starts with SIGPIPE at its default disposition.
    public static func spawn(
        _ arguments: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t,
        newProcessGroup: Bool
    ) throws(SubprocessError) -> pid_t {
        precondition(!arguments.isEmpty)
        guard let program = executablePath(arguments[0], searchPath: environment["PATH"]) else {
            throw .cannotStart(arguments[0], .noEntry)
        }
        let envStrings = environment.map { "\($0.key)=\($0.value)" }
        let envp = envStrings.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        return try spawn(
            program: program, arguments, environment: envp, actions: &actions,
            group: newProcessGroup ? .newGroup : .same, defaultSIGPIPE: true)
    }

    /// Where a child started by `spawn(program:...)` runs: in this process's group, leading a new group, or leading
    /// a new session (for a child on a pseudo-terminal of its own, which its first open makes its controlling one).
    public enum ProcessGroup: Sendable { case same, newGroup, newSession }

    /// The one `posix_spawn` call: `program` (a path, used as it is) with `arguments` and exactly `environment`
    /// (NULL-terminated `NAME=value` C strings). With `defaultSIGPIPE`, SIGPIPE is at its default disposition in the
    /// child whatever this process did with it (GLib's sockets ignore it process-wide in the keyring backend): a git
    /// writing to a reader that went away ends as git expects to, instead of inheriting the ignore. Without it the
    /// child gets this process's dispositions (ignored stays ignored, caught becomes default) and signal mask.
    public static func spawn(
        program: String, _ arguments: [String], environment: [UnsafeMutablePointer<CChar>?],
        actions: inout posix_spawn_file_actions_t, group: ProcessGroup, defaultSIGPIPE: Bool
    ) throws(SubprocessError) -> pid_t {
        precondition(!arguments.isEmpty && environment.last == .some(nil))
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags: Int32 = 0
        if defaultSIGPIPE {
            var defaults = sigset_t()
            sigemptyset(&defaults)
            sigaddset(&defaults, SIGPIPE)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            flags |= Int32(POSIX_SPAWN_SETSIGDEF)
        }
        switch group {
        case .same: break
        case .newGroup:
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        case .newSession:
            flags |= keyway_spawn_setsid_flag()
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var pid: pid_t = 0
        let status = withCStrings(arguments) { argv in
            posix_spawn(&pid, program, &actions, &attributes, argv, environment)
        }
        guard status == 0 else { throw .cannotStart(arguments[0], Errno(status)) }
        return pid
    }

    /// The program `name` stands for as `execvp` finds it (what the user's shell would run): a name with a slash as
    /// it is, else the first executable regular file in the entries of `searchPath` (an empty entry is the current
    /// directory). `.accessDenied` when only non-executable candidates exist, `.noEntry` when none does.
    public static func commandPath(_ name: String, searchPath: String?) -> Swift.Result<String, Errno> {
        if name.contains("/") { return .success(name) }
        guard !name.isEmpty else { return .failure(.noEntry) }
        var denied = false
        for entry in (searchPath ?? defaultSearchPath).split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = entry.isEmpty ? name : (entry.hasSuffix("/") ? String(entry) : entry + "/") + name
            guard let st = try? Sys.statFollowingLinks(candidate), FileMode.isRegular(st) else { continue }
            if access(candidate, X_OK) == 0 { return .success(candidate) }
            denied = true
        }
        return .failure(denied ? .accessDenied : .noEntry)
    }

    /// Runs `arguments[0]` (see `spawn`: an absolute path, or looked up in the absolute entries of `environment`'s
    /// PATH) with exactly `environment` (nothing of this process's environment is passed on), standard input from
    /// /dev/null, in `directory`. With `timeout` (seconds), a child that has not exited by then is killed with its
    /// whole process group (it gets one of its own), reaped, and `.timedOut` is thrown.
    public static func run(
        _ arguments: [String], directory: String? = nil, environment: [String: String], timeout: Int? = nil
    ) throws(SubprocessError) -> Result {
        precondition(!arguments.isEmpty)
        let deadline = timeout.map { monotonicSeconds() + Double($0) }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard keyway_pipe2(&outPipe, O_CLOEXEC) == 0 else { throw .cannotStart(arguments[0], .current) }
        guard keyway_pipe2(&errPipe, O_CLOEXEC) == 0 else {
            let e = Errno.current
            close(outPipe[0])
            close(outPipe[1])
            throw .cannotStart(arguments[0], e)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let directory, keyway_spawn_file_actions_addchdir(&actions, directory) != 0 {
            let e = Errno.current
            [outPipe[0], outPipe[1], errPipe[0], errPipe[1]].forEach { close($0) }
            throw .cannotStart(arguments[0], e)
        }
        let pid: pid_t
        do {
            pid = try spawn(arguments, environment: environment, actions: &actions, newProcessGroup: timeout != nil)
        } catch {
            [outPipe[0], outPipe[1], errPipe[0], errPipe[1]].forEach { close($0) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        let drained: ([UInt8], [UInt8])?
        do {
            drained = try drain(outPipe[0], errPipe[0], until: deadline)
        } catch {
            close(outPipe[0])
            close(errPipe[0])
            stop(pid)
            throw error
        }
        close(outPipe[0])
        close(errPipe[0])
        guard let (out, err) = drained, let waitStatus = try wait(pid, until: deadline) else {
            stop(pid)
            throw .timedOut(seconds: timeout ?? 0)
        }
        let exit: Int32 = (waitStatus & 0x7F) == 0 ? (waitStatus >> 8) & 0xFF : 128 + (waitStatus & 0x7F)
        return Result(status: exit, stdout: out, stderr: err)
    }

    /// Replaces this process with `arguments[0]` (looked up by execvp in the PATH of `environment`, the new
    /// program's whole environment: `environ`-style `NAME=value` C strings, a terminating NULL added). Returns
    /// only when the exec failed, with its error.
    public static func exec(_ arguments: [String], environment: [UnsafeMutablePointer<CChar>?]) -> Errno {
        precondition(!arguments.isEmpty)
        let envp = environment + [nil]
        _ = withCStrings(arguments) { argv in keyway_execvp_environment(arguments[0], argv, envp) }
        return .current
    }

    /// Kills the process group `pid` leads (and `pid` itself) and reaps `pid`.
    public static func stop(_ pid: pid_t) {
        _ = kill(-pid, SIGKILL)
        _ = kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    }

    /// The wait status of `pid` once it exits; nil when `deadline` (monotonic seconds) passes first.
    static func wait(_ pid: pid_t, until deadline: Double?) throws(SubprocessError) -> Int32? {
        var status: Int32 = 0
        var pause: UInt32 = 1000
        while true {
            let result = waitpid(pid, &status, deadline == nil ? 0 : WNOHANG)
            if result == pid { return status }
            if result < 0 {
                if errno == EINTR { continue }
                throw .waitFailed(.current)
            }
            if let deadline, monotonicSeconds() >= deadline { return nil }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    /// Reads two descriptors to end of file without letting either pipe fill up; nil when `deadline` (monotonic
    /// seconds) passes first. A failed `poll` or `read` throws `readFailed`: output cut short is never taken for the
    /// whole of it.
    static func drain(_ a: Int32, _ b: Int32, until deadline: Double? = nil) throws(SubprocessError) -> (
        [UInt8], [UInt8]
    )? {
        var outputs: [[UInt8]] = [[], []]
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            var wait: Int32 = -1
            if let deadline {
                let left = deadline - monotonicSeconds()
                if left <= 0 { return nil }
                wait = Int32(min(left * 1000 + 1, 60_000))
            }
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .readFailed(.current)
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    outputs[i].append(contentsOf: buffer[0..<n])
                } else if n == 0 {
                    fds[i].fd = -1
                    open -= 1
                } else if errno != EINTR && errno != EAGAIN {
                    throw .readFailed(.current)
                }
            }
        }
        return (outputs[0], outputs[1])
    }

    /// CLOCK_MONOTONIC in seconds: for deadlines.
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Calls `body` with a NULL-terminated array of C copies of `strings` (for `argv`/`envp`), freed afterwards.
    public static func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}

extension Subprocess {
    /// A child that keeps running while this process talks to it (`git cat-file --batch`): requests are written to
    /// its standard input, answers read from its standard output, and what it writes to standard error goes to an
    /// unlinked temporary file (read back only for a message). It is started by `spawn`, as `run`'s children are
    /// (the program found by this process, exactly `environment`, a process group of its own), and every
    /// descriptor this process keeps is close-on-exec from the moment it exists, so no child another thread starts
    /// meanwhile inherits one and keeps the conversation open.
    ///
    /// Each write and each read waits at most `timeout` seconds (a child stuck on a FIFO, or one that stopped
    /// reading, cannot block the caller): `.timedOut` is thrown, and `finish` then kills the child with its process
    /// group instead of waiting for it.
    ///
    /// Its standard input is one end of a socket pair written with `send(MSG_NOSIGNAL)`: a write to a child that
    /// has exited fails with `EPIPE` on that descriptor alone (`.writeFailed`) and raises no SIGPIPE, so nothing
    /// of the process's signal state (dispositions, masks, pending signals) is touched. A pipe would raise SIGPIPE
    /// in the writing thread: ignoring it changes the disposition for the whole process and every program it
    /// starts later (an ignored signal stays ignored across exec); blocking it around the write and consuming it
    /// with `sigtimedwait` changes the thread's mask and can swallow a SIGPIPE that was pending for another reason.
    public final class Child {
        public let pid: pid_t
        /// Seconds each write and each read may wait.
        public let timeout: Int
        private let input: Int32
        private let output: Int32
        private let errors: Int32
        private var failed = false
        private var finished = false

        /// Starts `arguments[0]` (see `spawn`) with exactly `environment`.
        public init(_ arguments: [String], environment: [String: String], timeout: Int) throws(SubprocessError) {
            precondition(!arguments.isEmpty && timeout > 0)
            self.timeout = timeout
            let name = arguments[0]
            var toChild: [Int32] = [-1, -1]
            var fromChild: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &toChild) == 0 else {
                throw .cannotStart(name, .current)
            }
            guard keyway_pipe2(&fromChild, O_CLOEXEC) == 0 else {
                let e = Errno.current
                close(toChild[0])
                close(toChild[1])
                throw .cannotStart(name, e)
            }
            var wait = timeval(tv_sec: timeout, tv_usec: 0)
            _ = setsockopt(toChild[0], SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            var template = Array("/tmp/keyway-child-XXXXXX".utf8CString)
            let errors = template.withUnsafeMutableBufferPointer { keyway_mkostemp($0.baseAddress!, O_CLOEXEC) }
            if errors >= 0 { template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) } }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, toChild[1], 0)
            posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
            if errors >= 0 {
                posix_spawn_file_actions_adddup2(&actions, errors, 2)
            } else {
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            }
            let spawned: pid_t?
            var failure: SubprocessError?
            do throws(SubprocessError) {
                spawned = try spawn(arguments, environment: environment, actions: &actions, newProcessGroup: true)
            } catch {
                spawned = nil
                failure = error
            }
            close(toChild[1])
            close(fromChild[1])
            guard let spawned else {
                close(toChild[0])
                close(fromChild[0])
                if errors >= 0 { close(errors) }
                throw failure ?? .cannotStart(name, .current)
            }
            pid = spawned
            input = toChild[0]
            output = fromChild[0]
            self.errors = errors
        }

        deinit { finish() }

        /// Writes all of `bytes` to the child's standard input.
        public func write(_ bytes: [UInt8]) throws(SubprocessError) {
            precondition(!finished)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes {
                    send(input, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
                }
                if n >= 0 {
                    offset += n
                    continue
                }
                if errno == EINTR { continue }
                failed = true
                if errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut(seconds: timeout) }
                throw .writeFailed(.current)
            }
        }

        /// What the child wrote to its standard output, at most `maximum` bytes, waiting up to `timeout` seconds for
        /// the first: empty once the child has closed its output.
        public func read(maximum: Int = 1 << 16) throws(SubprocessError) -> [UInt8] {
            precondition(!finished && maximum > 0)
            let deadline = monotonicSeconds() + Double(timeout)
            var fds = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            var buffer = [UInt8](repeating: 0, count: maximum)
            while true {
                let left = deadline - monotonicSeconds()
                if left <= 0 {
                    failed = true
                    throw .timedOut(seconds: timeout)
                }
                let ready = poll(&fds, 1, Int32(min(left * 1000 + 1, 86_400_000)))
                if ready == 0 { continue }
                if ready < 0 {
                    if errno == EINTR { continue }
                    failed = true
                    throw .readFailed(.current)
                }
                let n = buffer.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress, $0.count) }
                if n >= 0 {
                    buffer.removeSubrange(n...)
                    return buffer
                }
                if errno == EINTR { continue }
                failed = true
                throw .readFailed(.current)
            }
        }

        /// The first `limit` bytes the child has written to its standard error so far (nothing after `finish`).
        public func errorOutput(limit: Int = 64 * 1024) -> [UInt8] {
            guard !finished, errors >= 0, limit > 0 else { return [] }
            var result = [UInt8](repeating: 0, count: limit)
            var filled = 0
            while filled < limit {
                // pread: the child shares this file's offset.
                let n = result.withUnsafeMutableBytes {
                    pread(errors, $0.baseAddress! + filled, limit - filled, off_t(filled))
                }
                if n > 0 {
                    filled += n
                } else if n < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            return Array(result[0..<filled])
        }

        /// Closes the child's input and output and waits for it to exit, at most `timeout` seconds; kills it with its
        /// process group instead when `stopping`, after a failed read or write, or when that wait runs out.
        public func finish(stopping: Bool = false) {
            guard !finished else { return }
            finished = true
            close(input)
            close(output)
            if errors >= 0 { close(errors) }
            if stopping || failed {
                stop(pid)
                return
            }
            // Killed only when the wait runs out. A wait that fails (ECHILD: something else in this process reaped
            // the child, as a program embedding Keyway with its own SIGCHLD reaper may) leaves it alone: its pid, and
            // so its process group id, may already be another program's.
            do throws(SubprocessError) {
                if try Subprocess.wait(pid, until: monotonicSeconds() + Double(timeout)) == nil { stop(pid) }
            } catch {
                return
            }
        }
    }
}
