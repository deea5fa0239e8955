import Dispatch
import Testing

@testable import KeywayCore

@Suite struct WarningCollectorTests {
    /// The handler is `@Sendable` and a store may call it from its own thread: warnings added from many threads at
    /// once are all kept, each once (the collector was `@unchecked Sendable` with no lock: appends raced).
    @Test func warningsFromManyThreadsAreAllKeptOnce() {
        let threads = 8, perThread = 400
        let collector = WarningCollector()
        let handler = collector.handler
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for n in 0..<perThread {
                handler(KeywayWarning(.insecurePermissions, "warning \(thread)-\(n)"))
                handler(KeywayWarning(.insecurePermissions, "shared \(n)"))
            }
        }
        let messages = collector.warnings.map(\.message)
        #expect(messages.count == threads * perThread + perThread)
        #expect(Set(messages).count == messages.count, "each warning once")
    }
}
