import Foundation
import KeywayCore

/// A Secret Service provider of one test's own, on a `PrivateBus` of its own (so the test can lock, stop or kill it
/// without disturbing other tests), its state in a temporary directory; killed (SIGKILL) when released. One of:
/// - a real provider (gnome-keyring, keepassxc or kwallet) started by scripts/keyring-provider, the way
///   scripts/with-keyring starts the shared one: it owns org.freedesktop.secrets and its default collection is
///   unlocked when `init` returns;
/// - a python3-gi program (`init(script:...)`) that prints "ready" once it owns the name, such as the misbehaving
///   provider of the fault tests;
/// - gnome-keyring with no login keyring at all (`gnomeKeyringWithoutDefaultCollection`).
public final class PrivateProvider: @unchecked Sendable {
    public let bus: PrivateBus
    public let directory: TemporaryDirectory
    /// The provider's process id.
    public let pid: pid_t
    /// Set when the provider is this process's child (reaped on release); the script's provider is not.
    private let child: Process?
    private let log: String

    /// What a child process needs to reach this provider.
    public var environment: [String: String] { ["DBUS_SESSION_BUS_ADDRESS": bus.address] }

    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/keyring-provider").path

    /// The provider's own HOME and XDG directories, under `directory`.
    private static func stateEnvironment(_ home: String, _ bus: PrivateBus) -> [String: String] {
        [
            "HOME": home, "XDG_CONFIG_HOME": home + "/config", "XDG_DATA_HOME": home + "/data",
            "XDG_CACHE_HOME": home + "/cache", "XDG_RUNTIME_DIR": home, "DBUS_SESSION_BUS_ADDRESS": bus.address,
            "PATH": "/usr/bin:/bin",
        ]
    }

    /// Starts `provider` (gnome-keyring, keepassxc or kwallet) with scripts/keyring-provider. `confirmAccess`:
    /// KeePassXC asks to confirm each client's access. `activatable`: services the bus may start (gnome-keyring's
    /// prompter, for a test of the unlock prompt).
    public init(_ provider: String, confirmAccess: Bool = false, activatable: [String] = []) throws {
        bus = try PrivateBus(activatable: activatable)
        directory = try TemporaryDirectory(prefix: "keyway-provider")
        log = directory.path + "/calls.log"
        var environment = Self.stateEnvironment(directory.path, bus)
        environment["KEYWAY_PROVIDER_CONFIRM_ACCESS"] = confirmAccess ? "1" : "0"
        let started = try captureOutput(Self.script, [provider], environment: environment)
        guard started.status == 0, let pid = pid_t(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw KeywayError(.io, "\(provider) did not start: \(started); its log is in \(directory.path)")
        }
        self.pid = pid
        child = nil
    }

    /// Runs `script` with /usr/bin/python3 as `script BUS_ADDRESS ARGUMENTS... LOG EXTRA...` and waits until it
    /// prints "ready" (it owns org.freedesktop.secrets); it logs the calls it gets to LOG, one per line (`calls()`).
    /// `name` and `needs` (the Python modules it needs) go into the error when it does not start.
    public init(script text: String, arguments: [String], extra: [String] = [], name: String, needs: String) throws {
        bus = try PrivateBus()
        directory = try TemporaryDirectory(prefix: "keyway-provider-script")
        let script = directory.path + "/provider.py"
        log = directory.path + "/calls.log"
        try writeFile(script, text, mode: 0o600)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, bus.address] + arguments + [log] + extra
        let output = Pipe()
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Its first line, read from the pipe: "ready", or nothing when it dies first.
        let line = String(decoding: output.fileHandleForReading.readData(ofLength: 6), as: UTF8.self)
        guard line == "ready\n" else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let detail = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw KeywayError(.io, "the \(name) did not start (needs /usr/bin/python3 with \(needs)): \(detail)")
        }
        pid = process.processIdentifier
        child = process
    }

    private init(bus: PrivateBus, directory: TemporaryDirectory, child: Process) {
        self.bus = bus
        self.directory = directory
        self.child = child
        pid = child.processIdentifier
        log = directory.path + "/calls.log"
    }

    /// gnome-keyring started without `--unlock` in an empty HOME: it has no login keyring, so no collection is the
    /// default. Returned once it owns org.freedesktop.secrets.
    public static func gnomeKeyringWithoutDefaultCollection() throws -> PrivateProvider {
        let bus = try PrivateBus()
        let directory = try TemporaryDirectory(prefix: "keyway-no-default")
        let keyring = Process()
        keyring.executableURL = URL(fileURLWithPath: "/usr/bin/gnome-keyring-daemon")
        keyring.arguments = ["--foreground", "--components=secrets"]
        keyring.environment = stateEnvironment(directory.path, bus)
        keyring.standardOutput = FileHandle.nullDevice
        keyring.standardError = FileHandle.nullDevice
        try keyring.run()
        let provider = PrivateProvider(bus: bus, directory: directory, child: keyring)
        try waitUntil("gnome-keyring (no login keyring) to own org.freedesktop.secrets", timeout: 60, interval: 0.05) {
            guard keyring.isRunning else {
                throw KeywayError(.io, "gnome-keyring-daemon exited (status \(keyring.terminationStatus)) at start")
            }
            return try bus.nameHasOwner("org.freedesktop.secrets")
        }
        return provider
    }

    deinit {
        kill(pid, SIGKILL)
        if let child {
            child.waitUntilExit()
        } else {
            var status: Int32 = 0
            waitpid(pid, &status, WNOHANG)
        }
    }

    /// The calls a scripted provider received so far, one per line ("OpenSession ...", "CreateItem", ...).
    public func calls() -> [String] {
        ((try? readFile(log)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// Locks the default collection through the Secret Service (Lock, then its prompt should the provider give one,
    /// as KeePassXC does), and waits (at most 30 s) until it says it is locked.
    public func lockDefaultCollection() throws {
        let script = #"""
            import sys, time
            from gi.repository import Gio, GLib
            bus = Gio.DBusConnection.new_for_address_sync(sys.argv[1],
                Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
            def call(path, interface, method, args, reply):
                return bus.call_sync("org.freedesktop.secrets", path, interface, method, args,
                                     GLib.VariantType(reply) if reply else None, Gio.DBusCallFlags.NONE, 10000, None)
            collection = call("/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "ReadAlias",
                              GLib.Variant("(s)", ("default",)), "(o)").unpack()[0]
            locked, prompt = call("/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "Lock",
                                  GLib.Variant("(ao)", ([collection],)), "(aoo)").unpack()
            if prompt != "/":
                call(prompt, "org.freedesktop.Secret.Prompt", "Prompt", GLib.Variant("(s)", ("",)), None)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if call(collection, "org.freedesktop.DBus.Properties", "Get",
                        GLib.Variant("(ss)", ("org.freedesktop.Secret.Collection", "Locked")), "(v)").unpack()[0]:
                    sys.exit(0)
                time.sleep(0.05)
            sys.exit("the default collection %s was still unlocked 30 s after Lock" % collection)
            """#
        let result = try captureOutput("/usr/bin/python3", ["-c", script, bus.address])
        guard result.status == 0 else { throw KeywayError(.io, "locking failed: \(result)") }
    }
}
