import Foundation
import KeywayCore

/// A private `dbus-daemon` for tests: no service directories (nothing can be activated), listening in a temporary
/// directory, with the given `<policy>` contents. Killed (SIGKILL: the test runner's children inherit a blocked
/// SIGTERM) when released.
public final class PrivateBus: @unchecked Sendable {
    public static let available = FileManager.default.isExecutableFile(atPath: "/usr/bin/dbus-daemon")

    /// Lets everyone send, receive and own names: an ordinary bus with no Secret Service on it.
    public static let openPolicy = #"<allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/>"#
    /// Accepts connections but lets no one receive the reply to `Hello`: a bus that never answers.
    public static let silentPolicy = #"<allow send_destination="*"/><allow own="*"/>"#

    public let address: String
    private let daemon = Process()
    private let directory: TemporaryDirectory

    public init(policy: String = PrivateBus.openPolicy) throws {
        directory = try TemporaryDirectory(prefix: "keyway-bus")
        let config = directory.path + "/bus.conf"
        try writeFile(config, """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
              "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:dir=\(directory.path)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">\(policy)</policy>
            </busconfig>
            """, mode: 0o600)
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        daemon.arguments = ["--config-file=\(config)", "--nofork", "--print-address=1"]
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
            throw KeywayError(.io, "the private dbus-daemon did not print its address")
        }
    }

    deinit {
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
    }
}
