import Glibc
import Keyway

/// What Keyway changes in its own process, recorded at start so `keyway run` can give the command it becomes (by
/// execve) the process state Keyway itself was given: the soft core-size limit (lowered to 0 at start), the signals
/// that were not ignored (a library may ignore a signal for the whole process: GLib's sockets ignore SIGPIPE), and
/// the signal mask. Handlers need nothing: execve resets every caught signal to its default.
enum ProcessStart {
    /// Linux numbers signals 1 to 64.
    static let signals: ClosedRange<Int32> = 1...64
    nonisolated(unsafe) private static var ignoredAtStart = sigset_t()
    nonisolated(unsafe) private static var maskAtStart = sigset_t()

    /// First thing in `main`, before any argument is parsed or any file read: core dumps off, then the signal state
    /// recorded. About 70 system calls: measured at 50 to 75 µs per start on a loaded 2-core machine (the 64
    /// `sigaction` queries), against 36 to 44 ms for the whole of `keyway --version` (debug build), so under 0.2 %.
    /// Every signal is recorded rather than a list of those Keyway's libraries are known to change: a list would
    /// silently miss a signal a new or updated library ignores, and CMD would inherit it ignored.
    static func begin() {
        CoreDumps.disableAtStart()
        disableRuntimeBacktracer()
        sigemptyset(&ignoredAtStart)
        for signal in signals where disposition(signal) == .ignored { sigaddset(&ignoredAtStart, signal) }
        pthread_sigmask(SIG_SETMASK, nil, &maskAtStart)
        // An inherited SIGCHLD ignore makes the kernel reap Keyway's children itself, so every wait for a git child
        // would fail (ECHILD). Keyway runs with the default; `keyway run` gives CMD the ignore back.
        if sigismember(&ignoredAtStart, SIGCHLD) != 0 { Glibc.signal(SIGCHLD, SIG_DFL) }
    }

    /// Whether `signal` was ignored when Keyway started.
    static func ignoredAtStart(_ signal: Int32) -> Bool { sigismember(&ignoredAtStart, signal) != 0 }

    /// The first argument of Keyway started as the trampoline `keyway run --mask` uses when SIGCHLD was ignored at
    /// start: CMD must get that ignore back, which `posix_spawn` cannot give, and Keyway must not have it while it
    /// waits for CMD (the kernel would reap CMD and its exit status would be lost). Keyway, started with it, ignores
    /// SIGCHLD and execs the rest of its arguments (`execIgnoringSIGCHLD`), before anything else.
    static let sigchldTrampoline = "--keyway-internal-exec-ignoring-sigchld"

    /// The trampoline: first thing in `main` when asked for (see `sigchldTrampoline`); returns only when not asked.
    static func execIgnoringSIGCHLDIfAsked() {
        let arguments = CommandLine.arguments
        guard arguments.count > 2, arguments[1] == sigchldTrampoline else { return }
        let command = Array(arguments[2...])
        Glibc.signal(SIGCHLD, SIG_IGN)
        let error = Subprocess.exec(command, environment: Run.currentEnvironment())
        printError("Error: Cannot run \(command[0]): \(error).")
        exitProcess(error == .noEntry ? 127 : 126)
    }

    /// Just before execve: the core-size soft limit, each signal Keyway came to ignore back to its default, each signal
    /// ignored at start ignored again (`nohup keyway run ...`: CMD keeps ignoring SIGHUP), and the signal mask of this
    /// thread (the one that execs) as they were at start.
    static func restoreForExec() throws(KeywayError) {
        try CoreDumps.restoreLimitForExec()
        for signal in signals {
            let ignoredThen = sigismember(&ignoredAtStart, signal) != 0
            let ignoredNow = disposition(signal) == .ignored
            if ignoredNow && !ignoredThen { Glibc.signal(signal, SIG_DFL) }
            if ignoredThen && !ignoredNow { Glibc.signal(signal, SIG_IGN) }
        }
        guard pthread_sigmask(SIG_SETMASK, &maskAtStart, nil) == 0 else {
            throw KeywayError(.io, "Cannot restore the signal mask before running the command: \(Errno.current).")
        }
    }

    /// The signals the Swift runtime's crash handler catches (its backtracer, `swift-backtrace`, is on by default on
    /// Linux when the toolchain's `libexec/swift/linux/swift-backtrace` exists).
    static let crashSignals = [SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV]

    /// Puts every crash signal the Swift runtime caught before `main` back to its default action, so a crash kills
    /// Keyway at once (no core file: see `CoreDumps`) instead of running the backtracer, which prints the stack and
    /// the memory around each register to standard error — bytes of a key or passphrase after an unlock. The runtime
    /// installs its handler while the program loads, from `SWIFT_BACKTRACE`; it reads nothing later, so this turns
    /// it off whatever that variable says. A signal ignored at start stays ignored.
    static func disableRuntimeBacktracer() {
        for signal in crashSignals where disposition(signal) != .ignored { Glibc.signal(signal, SIG_DFL) }
    }

    enum Disposition { case ignored, other }

    /// Whether `signal` is ignored now (`.other` too for the numbers the C library reserves and refuses).
    static func disposition(_ signal: Int32) -> Disposition {
        var current = sigaction()
        guard sigaction(signal, nil, &current) == 0, let handler = current.__sigaction_handler.sa_handler else {
            return .other
        }
        return unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) ? .ignored : .other
    }
}
