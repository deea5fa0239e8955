import Glibc
import KeywayCore

/// How the backend reaches the Secret Service, read from the environment it was given (not the process's: a program
/// or a test can point one store at another bus).
public struct SecretServiceConfiguration: Sendable, Equatable {
    /// The session bus address: `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus` when that socket exists.
    public var busAddress: String?
    /// Why there is no address, for the error message.
    public var busAddressProblem: String
    /// Seconds any one operation may take before it fails (`KEYWAY_KEYRING_TIMEOUT`, default 5).
    public var timeout: Double
    /// Seconds a person has to answer an unlock prompt (`KEYWAY_KEYRING_PROMPT_TIMEOUT`, default 120).
    public var promptTimeout: Double
    /// Whether a desktop prompt can be shown here: a graphical session (`DISPLAY` or `WAYLAND_DISPLAY`).
    public var canPrompt: Bool

    public init(environment: Environment) {
        (busAddress, busAddressProblem) = Self.busAddress(
            environment.nonEmpty("DBUS_SESSION_BUS_ADDRESS"), runtimeDirectory: environment.nonEmpty("XDG_RUNTIME_DIR"))
        timeout = Self.seconds(environment.nonEmpty("KEYWAY_KEYRING_TIMEOUT")) ?? 5
        promptTimeout = Self.seconds(environment.nonEmpty("KEYWAY_KEYRING_PROMPT_TIMEOUT")) ?? 120
        canPrompt = environment.nonEmpty("DISPLAY") != nil || environment.nonEmpty("WAYLAND_DISPLAY") != nil
    }

    /// The session bus address `DBUS_SESSION_BUS_ADDRESS` and `XDG_RUNTIME_DIR` (both non-empty or nil) give, or nil
    /// and why there is none.
    static func busAddress(_ address: String?, runtimeDirectory runtime: String?) -> (String?, problem: String) {
        if let address { return (address, "") }
        if let runtime, isSocket(runtime + "/bus") {
            return ("unix:path=" + escapedAddressValue(runtime + "/bus"), "")
        }
        return (
            nil,
            runtime == nil
                ? "DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are not set"
                : "DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus"
        )
    }

    /// `value` escaped as the value of a D-Bus address (as GLib's `g_dbus_address_escape_value`, which libsecret's
    /// GLib applies to `$XDG_RUNTIME_DIR/bus`): every byte but ASCII letters, digits and `-_/\.` as `%XX`. In Swift,
    /// so that reading the configuration (every command does) needs no GLib: libsecret is loaded only by a `Session`.
    static func escapedAddressValue(_ value: String) -> String {
        let kept = Set("-_/\\.".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in value.utf8 {
            let isAlphanumeric =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            if isAlphanumeric || kept.contains(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bus GLib's session connection uses: the one named by this process's own environment.
    static var processBusAddress: String? {
        func nonEmpty(_ name: String) -> String? { Sys.environment(name).flatMap { $0.isEmpty ? nil : $0 } }
        return busAddress(nonEmpty("DBUS_SESSION_BUS_ADDRESS"), runtimeDirectory: nonEmpty("XDG_RUNTIME_DIR")).0
    }

    /// Refuses a `KEYWAY_KEYRING_TIMEOUT` or `KEYWAY_KEYRING_PROMPT_TIMEOUT` that is set but is not a number of
    /// seconds above 0 and at most 3600 (the value is not repeated: it could be anything pasted there).
    public static func checkTimeouts(_ environment: Environment) throws(KeywayError) {
        for name in ["KEYWAY_KEYRING_TIMEOUT", "KEYWAY_KEYRING_PROMPT_TIMEOUT"] {
            if let text = environment.nonEmpty(name), seconds(text) == nil {
                throw KeywayError(
                    .invalidInput,
                    "\(name) must be a number of seconds greater than 0 and at most 3600 (such as 5 or 0.5).")
            }
        }
    }

    static func seconds(_ text: String?) -> Double? {
        guard let text, let value = Double(text), value > 0, value <= 3600 else { return nil }
        return value
    }

    static func isSocket(_ path: String) -> Bool {
        guard let st = try? Sys.statFollowingLinks(path) else { return false }
        return (st.st_mode & S_IFMT) == S_IFSOCK
    }
}
