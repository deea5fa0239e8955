import Foundation
import KeywayCore

/// A private `dbus-daemon` for tests, the one bus launcher every test uses: listening in a temporary directory, with
/// the given `<policy>` contents, and no service directories (nothing can be activated) except, when `activatable`
/// names some, a directory of its own holding just those services' files from /usr/share/dbus-1/services.
/// Killed (SIGKILL: the test runner's children inherit a blocked SIGTERM) when released.
public final class PrivateBus: @unchecked Sendable {
    public static let available = FileManager.default.isExecutableFile(atPath: "/usr/bin/dbus-daemon")

    /// Lets everyone send, receive and own names: an ordinary bus with no Secret Service on it.
    public static let openPolicy =
        #"<allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/>"#
    /// Accepts connections but lets no one receive the reply to `Hello`: a bus that never answers.
    public static let silentPolicy = #"<allow send_destination="*"/><allow own="*"/>"#
    /// gnome-keyring's unlock prompter, which it asks the bus to start.
    public static let gnomeKeyringPrompter = ["org.gnome.keyring.SystemPrompter", "org.gnome.keyring.PrivatePrompter"]

    public let address: String
    private let daemon = Process()
    private let directory: TemporaryDirectory

    public init(policy: String = PrivateBus.openPolicy, activatable: [String] = []) throws {
        directory = try TemporaryDirectory(prefix: "keyway-bus")
        var services = ""
        if !activatable.isEmpty {
            let serviceDirectory = directory.path + "/services"
            try Sys.mkdir(serviceDirectory, 0o700)
            for name in activatable {
                let file = "/usr/share/dbus-1/services/\(name).service"
                guard let bytes = try readFile(file) else {
                    throw KeywayError(.io, "the private bus cannot activate \(name): \(file) is missing")
                }
                try writeFile(serviceDirectory + "/\(name).service", bytes, mode: 0o600)
            }
            services = "<servicedir>\(serviceDirectory)</servicedir>"
        }
        let config = directory.path + "/bus.conf"
        try writeFile(
            config,
            """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
              "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:dir=\(directory.path)</listen>
              <auth>EXTERNAL</auth>
              \(services)
              <policy context="default">\(policy)</policy>
            </busconfig>
            """, mode: 0o600)
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        daemon.arguments = ["--config-file=\(config)", "--nofork", "--print-address=1"]
        // What the bus starts gets no display: a prompt cannot open a window of the user's.
        var environment = ProcessInfo.processInfo.environment
        environment["DISPLAY"] = nil
        environment["WAYLAND_DISPLAY"] = nil
        daemon.environment = environment
        let output = Pipe()
        daemon.standardOutput = output
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        var line = ""
        while !line.hasSuffix("\n") {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty { break }
            line += String(decoding: byte, as: UTF8.self)
        }
        address = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard address.hasPrefix("unix:") else {
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
            throw KeywayError(.io, "the private dbus-daemon did not print its address")
        }
    }

    deinit {
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
    }

    /// Whether someone owns `name` on this bus (asked with dbus-send; the question activates nothing).
    public func nameHasOwner(_ name: String) throws -> Bool {
        let reply = try captureOutput(
            "/usr/bin/dbus-send",
            [
                "--bus=" + address, "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner", "string:" + name,
            ])
        return reply.status == 0 && reply.stdout.contains("boolean true")
    }
}

/// What `captureOutput` saw of a program's run.
public struct CapturedRun: CustomStringConvertible, Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Runs `body` again, up to `attempts` runs in all, while its run fails: for another program's calls to a Secret
/// Service provider that fails some of them on its own (KWallet's session-key bug, KDE 514194: "Can't find session
/// /org/freedesktop/secrets/session/N", seen in CI 2026-12-02), which is no fault of Keyway's. The last run is
/// returned, so a program that keeps failing (or an item that is really gone) still fails the test.
/// `succeeded` says what a run that did not fail looks like (by default, exit status 0; for a lookup, the value on
/// its output: git-credential-libsecret's `get` can exit 0 with nothing printed when its read of the secret failed).
public func repeatedWhileFailing<Run>(
    attempts: Int = 3, until succeeded: (Run) -> Bool, _ body: () throws -> Run
) rethrows -> Run {
    var result = try body()
    for _ in 1..<max(attempts, 1) where !succeeded(result) { result = try body() }
    return result
}

/// `repeatedWhileFailing`, a run that exits 0 counting as one that did not fail.
public func repeatedWhileFailing(attempts: Int = 3, _ body: () throws -> CapturedRun) rethrows -> CapturedRun {
    try repeatedWhileFailing(attempts: attempts, until: { $0.status == 0 }, body)
}

/// Runs a program with exactly `environment` (none by default), `stdin` on its standard input (empty when nil), in
/// `directory` when given, and returns its exit status and output. Both pipes are read at once (stderr on a thread),
/// so neither fills up; returns when the program has exited and both pipes are closed.
public func captureOutput(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
    directory: String? = nil
) throws -> CapturedRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe(), errors = Pipe(), input = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let stderr = PipeReader(errors)
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CapturedRun(
        status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self),
        stderr: String(decoding: stderr.wait(), as: UTF8.self))
}

/// Reads a pipe to its end on a thread of its own; `wait()` returns what it read once the pipe is closed (no polling).
public final class PipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    public init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }.start()
    }

    /// What was read, once the writers have all closed the pipe.
    public func wait() -> Data {
        done.wait()
        done.signal()
        return data
    }
}
