import Glibc
import Synchronization

/// A map over an array on a few threads (POSIX threads: the calling one and up to `threads - 1` more), each taking
/// the next index from a shared counter; the results come back in the order of the items whatever thread computed
/// them.
enum Parallel {
    /// The threads a scan uses: the online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`), at most `maximumThreads`.
    static let threads: Int = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), maximumThreads))
    static let maximumThreads = 8

    /// `items.map(body)`, computed on up to `threads` threads (the calling one among them). When a thread cannot
    /// be started, the others (the calling thread at least) do its share.
    static func map<T: Sendable, R: Sendable>(
        _ items: [T], threads: Int = Parallel.threads, _ body: @escaping @Sendable (T) -> R
    ) -> [R] {
        guard min(threads, items.count) > 1 else { return items.map(body) }
        let job = Job(items, body)
        let started = spawn(job, min(threads, items.count) - 1)
        job.work()
        for thread in started { pthread_join(thread, nil) }
        return job.results()
    }

    /// `items.map(body)` begun on up to `threads` threads of its own while the caller goes on (reading the next
    /// files); `Running.wait` gives the results.
    static func start<T: Sendable, R: Sendable>(
        _ items: [T], threads: Int = Parallel.threads, _ body: @escaping @Sendable (T) -> R
    ) -> Running<T, R> {
        let job = Job(items, body)
        return Running(job: job, threads: items.isEmpty ? [] : spawn(job, max(1, min(threads, items.count))))
    }

    /// A map begun by `start`.
    struct Running<T: Sendable, R: Sendable> {
        let job: Job<T, R>
        let threads: [pthread_t]

        /// Waits for every thread; whatever no thread took (none could be started) is done here.
        func wait() -> [R] {
            for thread in threads { pthread_join(thread, nil) }
            job.work()
            return job.results()
        }
    }

    /// Starts up to `count` threads running `job.work()`; those that started.
    private static func spawn(_ job: Worker, _ count: Int) -> [pthread_t] {
        var started: [pthread_t] = []
        for _ in 0..<count {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(job).toOpaque()
            let status = pthread_create(
                &thread, nil,
                { raw in
                    let worker = Unmanaged<Worker>.fromOpaque(raw!).takeRetainedValue()
                    worker.work()
                    return nil
                }, context)
            if status == 0 {
                started.append(thread)
            } else {
                Unmanaged<Worker>.fromOpaque(context).release()
            }
        }
        return started
    }

    class Worker: @unchecked Sendable {
        func work() {}
    }

    /// The items, the results (each slot written by the one thread that took its index, read after every thread
    /// was joined) and the counter.
    final class Job<T: Sendable, R: Sendable>: Worker, @unchecked Sendable {
        let items: [T]
        let body: @Sendable (T) -> R
        let next = Atomic<Int>(0)
        let slots: UnsafeMutablePointer<R?>

        init(_ items: [T], _ body: @escaping @Sendable (T) -> R) {
            self.items = items
            self.body = body
            slots = .allocate(capacity: items.count)
            slots.initialize(repeating: nil, count: items.count)
        }

        deinit {
            slots.deinitialize(count: items.count)
            slots.deallocate()
        }

        override func work() {
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < items.count else { return }
                slots[index] = body(items[index])
            }
        }

        func results() -> [R] { (0..<items.count).map { slots[$0]! } }
    }
}
