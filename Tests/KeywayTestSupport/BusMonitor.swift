import Foundation
import Synchronization

/// `dbus-monitor` on a bus, its output read as it comes, so that a test waits for a message instead of sleeping.
/// `init` returns once the monitor is registered with the bus (the bus has sent it the NameLost that ends its own
/// name), so every message sent after that is seen. Killed (SIGKILL) by `stop()` or when released.
public final class BusMonitor: @unchecked Sendable {
    private let process = Process()
    private let text = SharedText()
    private let finished = DispatchSemaphore(value: 0)
    private var launched = false

    /// Monitors the bus at `address`, or the session bus `environment` names when `address` is nil.
    public init(address: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-monitor")
        process.arguments = address.map { ["--address", $0] } ?? ["--session"]
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        launched = true
        let handle = output.fileHandleForReading
        Thread { [text, finished] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                text.value.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
            finished.signal()
        }.start()
        try waitFor("dbus-monitor to be registered as a monitor") { $0.contains("member=NameLost") }
    }

    deinit { _ = stop() }

    /// What it printed so far.
    public var output: String { text.value.withLock { $0 } }

    /// The messages printed so far, each with its argument lines (a message starts at column 0).
    public var messages: [String] {
        var messages: [String] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") || messages.isEmpty {
                messages.append(String(line))
            } else {
                messages[messages.count - 1] += "\n" + line
            }
        }
        return messages
    }

    /// Waits (at most `timeout` seconds) until the output so far satisfies `condition`.
    public func waitFor(_ what: String, timeout: Double = 30, _ condition: (String) -> Bool) throws {
        try waitUntil(what, timeout: timeout, interval: 0.005) {
            guard process.isRunning || !output.isEmpty else { throw WaitTimedOut(description: "dbus-monitor exited") }
            return condition(output)
        }
    }

    /// Waits until the bus says the connection `name` (a unique name, ":1.23") has gone: the NameOwnerChanged
    /// signal that ends it comes after every message that connection sent.
    public func waitForDisconnect(of name: String, timeout: Double = 30) throws {
        try waitFor("the bus to report \(name) disconnected", timeout: timeout) { _ in
            messages.contains {
                $0.contains("member=NameOwnerChanged")
                    && $0.hasSuffix("\n   string \"\(name)\"\n   string \"\(name)\"\n   string \"\"")
            }
        }
    }

    /// Stops the monitor and returns everything it printed.
    @discardableResult
    public func stop() -> String {
        guard launched else { return output }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)  // SIGTERM may be blocked under the test runner
        }
        process.waitUntilExit()
        finished.wait()
        finished.signal()
        return output
    }
}

/// The value of `name=` in a dbus-monitor message header ("sender", "member", ...), nil when it has none.
public func busMessageField(_ message: String, _ name: String) -> String? {
    guard let range = message.range(of: " \(name)=") else { return nil }
    return String(message[range.upperBound...].prefix { $0 != " " && $0 != ";" && $0 != "\n" })
}

/// Text shared between the thread that reads a pipe and the test.
private final class SharedText: Sendable {
    let value = Mutex("")
}
