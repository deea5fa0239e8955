import Glibc
import Keyway

/// `keyway run --mask`: CMD runs as a child whose standard output and error Keyway reads (through two pipes, or a
/// pseudo-terminal when Keyway's standard output is a terminal), masks (`OutputMasker`) and writes on. CMD's exit
/// status is Keyway's; when a signal kills CMD, Keyway kills itself with the same signal (so the parent sees what
/// it would have seen without masking), else exits 128 + N. SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to Keyway by a
/// process are passed on to CMD; one the terminal sends reaches CMD itself already (it is in Keyway's foreground
/// process group, or on its own pseudo-terminal), so it is not sent twice.
enum MaskedRun {
    static let forwarded = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Runs `command` and returns only when it cannot be started (the status to exit with): otherwise Keyway exits
    /// with CMD's status.
    static func run(
        _ command: [String], environment: [UnsafeMutablePointer<CChar>?], secrets: [(app: String, key: Secret)]
    ) -> Int32 {
        let masking = secrets.map { (name: APIKeyRules.shownName($0.app), key: Array($0.key.reveal().utf8)) }
        let terminal = Sys.isTerminal(1)
        let interactive = terminal && Sys.isTerminal(0)
        let signals: Int32
        do throws(Errno) { signals = try SignalPipe.descriptor() } catch {
            printError("Error: Cannot run \(command[0]): \(error).")
            return 126
        }
        // The program, found as execvp would in CMD's PATH: before anything is started.
        let searchPath = environment.lazy.compactMap { $0 }.map { String(cString: $0) }
            .last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
        let program: String
        switch Subprocess.commandPath(command[0], searchPath: searchPath) {
        case .success(let path): program = path
        case .failure(let error):
            printError("Error: Cannot run \(command[0]): \(error).")
            return error == .noEntry ? 127 : 126
        }

        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        var master: Int32 = -1
        var slave = ""
        do throws(Errno) {
            if terminal {
                (master, slave) = try PseudoTerminal.open()
                if Sys.isTerminal(0) { PseudoTerminal.copySettings(from: 0, to: master) }
                PseudoTerminal.copyWindowSize(from: 1, to: master)
            } else {
                try Sys.pipe(&outPipe)
            }
            try Sys.pipe(&errPipe)
        } catch {
            printError("Error: Cannot run \(command[0]): \(error).")
            return 126
        }
        let stderrOnTerminal = terminal && Sys.isTerminal(2)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if terminal {
            // The first open of the terminal by the new session's leader makes it CMD's controlling terminal.
            posix_spawn_file_actions_addopen(&actions, 1, slave, O_RDWR, 0)
            if interactive { posix_spawn_file_actions_adddup2(&actions, 1, 0) }
            if stderrOnTerminal { posix_spawn_file_actions_adddup2(&actions, 1, 2) }
        } else {
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        }
        if !stderrOnTerminal { posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2) }

        // CMD gets Keyway's start state (as the exec path gives it), then Keyway catches what it forwards.
        do throws(KeywayError) { try ProcessStart.restoreForExec() } catch {
            printError("Error: \(error.message)")
            return ExitStatus.failure
        }
        var caught = [SIGCHLD]
        if terminal { caught.append(SIGWINCH) }
        caught += forwarded.filter { !ProcessStart.ignoredAtStart($0) }
        for signal in caught { try? SignalPipe.catch(signal) }
        // SIGCHLD ignored at start: CMD gets the ignore through the trampoline (see `sigchldTrampoline`).
        var arguments = command
        var path = program
        if ProcessStart.ignoredAtStart(SIGCHLD) {
            arguments = ["keyway", ProcessStart.sigchldTrampoline, program] + command.dropFirst()
            path = "/proc/self/exe"
        }
        let pid: pid_t
        do throws(SubprocessError) {
            pid = try Subprocess.spawn(
                program: path, arguments, environment: environment + [nil], actions: &actions,
                group: terminal ? .newSession : .same, defaultSIGPIPE: false)
        } catch {
            if case .cannotStart(_, let errno) = error {
                printError("Error: Cannot run \(command[0]): \(errno).")
                return errno == .noEntry ? 127 : 126
            }
            printError("Error: Cannot run \(command[0]): \(error).")
            return 126
        }
        // Keyway's own state again: no core dumps, SIGPIPE ignored (a write to a closed output fails with EPIPE).
        try? CoreDumps.disable()
        Glibc.signal(SIGPIPE, SIG_IGN)
        // The mask of the start was CMD's; Keyway must receive what it catches (a parent may block SIGCHLD).
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signal in caught { sigaddset(&unblocked, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        for fd in [outPipe[1], errPipe[1]] where fd >= 0 { Sys.close(fd) }
        if interactive { PseudoTerminal.makeRaw(0) }

        var relay = Relay(
            pid: pid, terminal: terminal, master: master, out: terminal ? master : outPipe[0], err: errPipe[0],
            signals: signals, interactive: interactive, masking: masking)
        let status = relay.run()
        if interactive { PseudoTerminal.restore(0) }
        exitLike(status)
    }

    /// Exits as CMD did: its exit code, or killed by the same signal (128 + N if that signal does not kill Keyway).
    static func exitLike(_ status: Int32) -> Never {
        if status & 0x7F == 0 { exitProcess((status >> 8) & 0xFF) }
        let signal = status & 0x7F
        Glibc.signal(signal, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        kill(getpid(), signal)
        exitProcess(128 + signal)
    }

    struct Relay {
        let pid: pid_t
        let terminal: Bool
        let master: Int32
        let out: Int32
        let err: Int32
        let signals: Int32
        let interactive: Bool
        var outMasker: OutputMasker
        var errMasker: OutputMasker
        var buffer = [UInt8](repeating: 0, count: 1 << 18)
        var output: [UInt8] = []
        /// Where CMD's output still comes from (-1 once at its end), and whether Keyway's own output still takes it.
        var sources: [Int32]
        var open: [Bool] = [true, true]
        var exitStatus: Int32?

        init(
            pid: pid_t, terminal: Bool, master: Int32, out: Int32, err: Int32, signals: Int32, interactive: Bool,
            masking: [(name: String, key: [UInt8])]
        ) {
            self.pid = pid
            self.terminal = terminal
            self.master = master
            self.out = out
            self.err = err
            self.signals = signals
            self.interactive = interactive
            outMasker = OutputMasker(masking)
            errMasker = outMasker
            sources = [out, err]
            if !terminal { Sys.setPipeSize(out, 1 << 20) }
            Sys.setPipeSize(err, 1 << 20)
        }

        /// Relays until CMD has exited and its output has ended; CMD's wait status.
        mutating func run() -> Int32 {
            var stdinOpen = interactive
            while sources.contains(where: { $0 >= 0 }) || exitStatus == nil {
                var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
                for fd in sources { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
                fds.append(pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0))
                // Once the output has ended, CMD's exit is also checked for now and then (a lost SIGCHLD report).
                let ended = !sources.contains { $0 >= 0 }
                let ready = poll(&fds, nfds_t(fds.count), ended ? 200 : -1)
                if ready < 0 {
                    if errno == EINTR { continue }
                    break
                }
                if ended { reap() }
                if fds[0].revents != 0 { handleSignals() }
                for i in 0..<2 where sources[i] >= 0 && fds[i + 1].revents != 0 { pump(i) }
                if stdinOpen, fds[3].revents != 0 { stdinOpen = forwardInput() }
            }
            for i in 0..<2 { flush(i) }
            return exitStatus ?? 0
        }

        /// One read from source `i` (0: CMD's output or the terminal, 1: its standard error), masked and written on.
        mutating func pump(_ i: Int) {
            let fd = sources[i]
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR || errno == EAGAIN { return }
            if n <= 0 {
                // End of file (EIO from a terminal master once every slave is closed).
                Sys.close(fd)
                sources[i] = -1
                flush(i)
                return
            }
            output.removeAll(keepingCapacity: true)
            buffer.withUnsafeBufferPointer { read in
                let chunk = UnsafeBufferPointer(rebasing: read[0..<n])
                if i == 0 { outMasker.feed(chunk, into: &output) } else { errMasker.feed(chunk, into: &output) }
            }
            write(i)
        }

        mutating func flush(_ i: Int) {
            output.removeAll(keepingCapacity: true)
            if i == 0 { outMasker.finish(into: &output) } else { errMasker.finish(into: &output) }
            write(i)
        }

        /// Writes `output` to Keyway's standard output (i = 0) or error. When that output is closed (EPIPE), what CMD
        /// writes there is read and dropped from then on (CMD is not stopped: a pipe reader that went away gives it
        /// SIGPIPE only through its own writes, which still succeed here).
        mutating func write(_ i: Int) {
            guard open[i], !output.isEmpty else { return }
            do throws(Errno) { try Sys.writeAll(i == 0 ? 1 : 2, output) } catch {
                open[i] = false
                if i == 0, !terminal, sources[0] >= 0 {
                    // As a shell pipeline would: CMD's next write to its standard output gets SIGPIPE.
                    Sys.close(sources[0])
                    sources[0] = -1
                }
            }
        }

        /// Standard input (a terminal in raw mode) to CMD's terminal; false at its end.
        mutating func forwardInput() -> Bool {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR || errno == EAGAIN { return true }
            if n <= 0 { return false }
            do throws(Errno) { try Sys.writeAll(master, Array(buffer[0..<n])) } catch { return false }
            return true
        }

        mutating func handleSignals() {
            for report in SignalPipe.reports() {
                switch report.signal {
                case SIGCHLD:
                    reap()
                case SIGWINCH:
                    PseudoTerminal.copyWindowSize(from: 1, to: master)
                default:
                    guard exitStatus == nil else { continue }
                    if terminal {
                        // CMD leads its own session: its foreground group gets it, as from its terminal.
                        if kill(-pid, report.signal) != 0 { kill(pid, report.signal) }
                    } else if !report.fromKernel {
                        kill(pid, report.signal)
                    }
                }
            }
        }

        mutating func reap() {
            guard exitStatus == nil else { return }
            var status: Int32 = 0
            while true {
                let result = waitpid(pid, &status, WNOHANG | (terminal ? WUNTRACED : 0))
                if result < 0, errno == EINTR { continue }
                guard result == pid else { return }
                if status & 0xFF == 0x7F {
                    // CMD stopped (^Z on its terminal): Keyway stops too, as the shell expects of its job, and
                    // continues CMD when it is continued.
                    if interactive { PseudoTerminal.restore(0) }
                    kill(getpid(), SIGSTOP)
                    if interactive { PseudoTerminal.makeRaw(0) }
                    if terminal { PseudoTerminal.copyWindowSize(from: 1, to: master) }
                    kill(terminal ? -pid : pid, SIGCONT)
                    continue
                }
                exitStatus = status
                return
            }
        }
    }
}
