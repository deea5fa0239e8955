internal import CLibSecret
import Glibc

/// Bounds every blocking libsecret/GDBus call of one session: a thread cancels the session's `GCancellable` when the
/// deadline passes, which makes the pending call (and every later one) fail at once with `G_IO_ERROR_CANCELLED`.
/// Without it, a call to a Secret Service that is being auto-started, or that never answers, can block for 25 s.
///
/// Before it starts watching, the same thread runs the session's bus connection (`connect`, given the cancellable),
/// which no cancellable can fully interrupt: GLib sends the bus `Hello` without the caller's cancellable and with
/// GDBus's 25 s default timeout, so a bus that accepts the connection but never answers would block there.
/// `connection()` waits for it only until the deadline; a late result is released by `discard` when it comes. One
/// thread does both jobs: a thread per process start is measurable in a `get`.
///
/// Locking: a pthread mutex and a condition variable (on CLOCK_MONOTONIC), both allocated once so their addresses
/// never move, rather than `Mutex` (Synchronization): both threads wait with a deadline for a state change the other
/// makes (the connection's outcome, a moved deadline, `stop`), which needs a condition variable waiting on the same
/// lock, and `Mutex` has none and exposes no lock a `pthread_cond_t` could wait on. Polling a `Mutex` instead would
/// wake a thread for nothing, or answer late. Hence `@unchecked Sendable`.
final class Watchdog: @unchecked Sendable {
    // Everything mutable is guarded by `mutex`, except `thread` and `started`, which only the owner's thread touches
    // (`init` and `stop`); `cancellable` is thread-safe by GIO's contract. `connect` and `discard` are set before the
    // thread starts and only read by it.
    let cancellable: OpaquePointer
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var deadline = timespec()
    private var stopped = false
    private var firedFlag = false
    private var thread = pthread_t()
    private var started = false
    private let connect: (OpaquePointer) -> ConnectOutcome
    private let discard: (ConnectOutcome) -> Void
    private var outcome: ConnectOutcome?
    private var connected = false
    private var abandoned = false

    init(
        seconds: Double, connect: @escaping (OpaquePointer) -> ConnectOutcome,
        discard: @escaping (ConnectOutcome) -> Void
    ) {
        cancellable = keyway_g_cancellable_new()
        self.connect = connect
        self.discard = discard
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        deadline = Self.monotonic(after: seconds)
        let context = Unmanaged.passRetained(self).toOpaque()
        started =
            pthread_create(
                &thread, nil,
                { raw in
                    let watchdog = Unmanaged<Watchdog>.fromOpaque(raw!).takeRetainedValue()
                    watchdog.run()
                    return nil
                }, context) == 0
        if !started {
            // No thread: release the reference handed to it; the connection and the calls then run unbounded rather
            // than not at all.
            Unmanaged<Watchdog>.fromOpaque(context).release()
            outcome = connect(cancellable)
            connected = true
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
        keyway_unref(cancellable)
    }

    /// The connection's outcome, or nil when the deadline passed first: the connection attempt is then abandoned,
    /// and cancelled for the steps GLib lets a cancellable interrupt (connecting the socket, authenticating), so the
    /// thread is not left waiting on them.
    func connection() -> ConnectOutcome? {
        pthread_mutex_lock(mutex)
        var until = deadline
        while !connected {
            if pthread_cond_timedwait(condition, mutex, &until) == ETIMEDOUT, !connected {
                abandoned = true
                firedFlag = true
                pthread_mutex_unlock(mutex)
                keyway_g_cancellable_cancel(cancellable)
                return nil
            }
        }
        let result = outcome
        pthread_mutex_unlock(mutex)
        return result
    }

    /// Whether the deadline passed (and the cancellable was cancelled because of it).
    var fired: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return firedFlag
    }

    /// Moves the deadline to `seconds` from now (longer while a person answers a prompt, shorter again after).
    func extend(seconds: Double) {
        pthread_mutex_lock(mutex)
        deadline = Self.monotonic(after: seconds)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Stops watching; call once the session's calls are over. The thread is not waited for (it holds its own
    /// reference to the watchdog and ends on its own: at once when watching, or once GLib gives up on an abandoned
    /// connection attempt), so a command's last step does not wait for another thread to be scheduled.
    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        if started {
            pthread_detach(thread)
            started = false
        }
    }

    private func run() {
        let value = connect(cancellable)
        pthread_mutex_lock(mutex)
        let late = abandoned
        if !late { outcome = value }
        connected = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        if late { discard(value) }
        watch()
    }

    private func watch() {
        pthread_mutex_lock(mutex)
        while !stopped {
            if Self.compare(Self.monotonic(after: 0), deadline) >= 0 {
                firedFlag = true
                pthread_mutex_unlock(mutex)
                keyway_g_cancellable_cancel(cancellable)
                return
            }
            var until = deadline
            pthread_cond_timedwait(condition, mutex, &until)
        }
        pthread_mutex_unlock(mutex)
    }

    static func monotonic(after seconds: Double) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let whole = Int(seconds)
        var nanoseconds = now.tv_nsec + Int((seconds - Double(whole)) * 1_000_000_000)
        var secondsPart = now.tv_sec + whole
        if nanoseconds >= 1_000_000_000 {
            nanoseconds -= 1_000_000_000
            secondsPart += 1
        }
        return timespec(tv_sec: secondsPart, tv_nsec: nanoseconds)
    }

    private static func compare(_ a: timespec, _ b: timespec) -> Int {
        if a.tv_sec != b.tv_sec { return a.tv_sec < b.tv_sec ? -1 : 1 }
        if a.tv_nsec != b.tv_nsec { return a.tv_nsec < b.tv_nsec ? -1 : 1 }
        return 0
    }
}

/// What a bus connection attempt produced.
struct ConnectOutcome: @unchecked Sendable {
    let connection: OpaquePointer?
    let error: UnsafeMutablePointer<GError>?
}
