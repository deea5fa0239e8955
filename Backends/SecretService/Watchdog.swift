import CLibSecret

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Bounds every blocking libsecret/GDBus call of one session: a thread cancels the session's `GCancellable` when the
/// deadline passes, which makes the pending call (and every later one) fail at once with `G_IO_ERROR_CANCELLED`.
/// Without it, a call to a Secret Service that is being auto-started, or that never answers, can block for 25 s.
final class Watchdog: @unchecked Sendable {
    // Everything mutable is guarded by `mutex`; `cancellable` is thread-safe by GIO's contract.
    let cancellable: UnsafeMutablePointer<GCancellable>
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var deadline = timespec()
    private var stopped = false
    private var firedFlag = false
    private var thread = pthread_t()
    private var started = false

    init(seconds: Double) {
        cancellable = g_cancellable_new()
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        deadline = Self.monotonic(after: seconds)
        let context = Unmanaged.passRetained(self).toOpaque()
        started = pthread_create(&thread, nil, { raw in
            let watchdog = Unmanaged<Watchdog>.fromOpaque(raw!).takeRetainedValue()
            watchdog.watch()
            return nil
        }, context) == 0
        if !started {
            // No thread: release the reference handed to it; calls then run unbounded rather than not at all.
            Unmanaged<Watchdog>.fromOpaque(context).release()
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
        g_object_unref(cancellable)
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
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Stops watching and waits for the thread; call once the session's calls are over.
    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        if started {
            pthread_join(thread, nil)
            started = false
        }
    }

    private func watch() {
        pthread_mutex_lock(mutex)
        while !stopped {
            if Self.compare(Self.monotonic(after: 0), deadline) >= 0 {
                firedFlag = true
                pthread_mutex_unlock(mutex)
                g_cancellable_cancel(cancellable)
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

/// Runs a call that no `GCancellable` can interrupt on its own thread, and waits for it at most `seconds`.
///
/// GLib's connection set-up (`g_bus_get_sync`, `g_dbus_connection_new_for_address_sync`) sends the bus `Hello`
/// without the caller's cancellable and with GDBus's 25 s default timeout, so a bus that accepts the connection but
/// never answers would block there. On timeout this returns nil at once; the thread finishes on its own later and
/// its late result is released by `discard`.
/// What a bus connection attempt produced.
struct ConnectOutcome: @unchecked Sendable {
    let connection: OpaquePointer?
    let error: UnsafeMutablePointer<GError>?
}

final class BoundedCall: @unchecked Sendable {
    typealias Result = ConnectOutcome

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var result: Result?
    private var finished = false
    private var abandoned = false
    private let body: () -> Result
    private let discard: (Result) -> Void

    private init(body: @escaping () -> Result, discard: @escaping (Result) -> Void) {
        self.body = body
        self.discard = discard
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// `body`'s result, or nil when it did not finish within `seconds` (or no thread could be started: then it runs
    /// here, unbounded, rather than not at all).
    static func run(
        within seconds: Double, discard: @escaping (Result) -> Void, _ body: @escaping () -> Result
    ) -> Result? {
        let call = BoundedCall(body: body, discard: discard)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(call).toOpaque()
        let started = pthread_create(&thread, nil, { raw in
            let call = Unmanaged<BoundedCall>.fromOpaque(raw!).takeRetainedValue()
            call.execute()
            return nil
        }, context) == 0
        guard started else {
            Unmanaged<BoundedCall>.fromOpaque(context).release()
            return body()
        }
        pthread_detach(thread)
        return call.wait(seconds)
    }

    private func execute() {
        let value = body()
        pthread_mutex_lock(mutex)
        if abandoned {
            pthread_mutex_unlock(mutex)
            discard(value)
            return
        }
        result = value
        finished = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    private func wait(_ seconds: Double) -> Result? {
        var deadline = Watchdog.monotonic(after: seconds)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !finished {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT, !finished {
                abandoned = true
                return nil
            }
        }
        return result
    }
}
