import Foundation

/// A condition a test waited for did not come about in time.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Waits until `condition` holds, asking again every `interval` seconds, for at most `timeout` seconds; throws
/// `WaitTimedOut` naming `what` (and, when given, the `detail` of the last look) when the deadline passes. Bounds a
/// test's set-up or observation, never the behaviour under test: the deadlines are generous for a loaded machine.
public func waitUntil(
    _ what: String, timeout: Double = 30, interval: Double = 0.01, detail: () -> String = { "" },
    _ condition: () throws -> Bool
) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return }
        if Date() >= deadline {
            let seen = detail()
            throw WaitTimedOut(
                description: "waited \(timeout) s for \(what), in vain" + (seen.isEmpty ? "" : " (last seen: \(seen))"))
        }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// Waits until the wall clock shows a later second than it does now: what a test needs before a second write whose
/// time (kept to the second) must differ from the first's.
public func waitForTheNextSecond() throws {
    let now = time(nil)
    try waitUntil("the clock to pass second \(now)", timeout: 5, interval: 0.005) { time(nil) > now }
}

/// Whether process `pid` is gone (or a zombie, which runs no more code).
public func processHasEnded(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    // The state follows the command name, which is in parentheses and may itself hold ") ".
    guard let close = stat.range(of: ") ", options: .backwards) else { return false }
    return stat[close.upperBound...].hasPrefix("Z") || stat[close.upperBound...].hasPrefix("X")
}
