internal import CLibSecret
import KeywayCore

/// GError to `KeywayError`, and the GLib conversions (string vectors, attribute tables) the session uses.
extension Session {
    /// Converts (and frees) a GError from a libsecret/GDBus call into a `KeywayError` naming `what` failed.
    func failure(_ error: UnsafeMutablePointer<GError>?, _ what: String, prompting: Bool = false) -> KeywayError {
        let detail = Self.take(error)
        if watchdog.fired || detail.isCancelled {
            let limit = prompting ? configuration.promptTimeout : configuration.timeout
            if prompting {
                return KeywayError(
                    .keyringTimeout,
                    "\(what): the prompt was not answered within \(Self.seconds(limit)); nothing was changed. "
                        + "Set KEYWAY_KEYRING_PROMPT_TIMEOUT for more time.")
            }
            return KeywayError(
                .keyringTimeout,
                "\(what): the Secret Service (\(Self.busName)) did not answer within \(Self.seconds(limit)). "
                    + "It may be starting or hung; try again, check the keyring daemon, or set "
                    + "KEYWAY_KEYRING_TIMEOUT for a longer wait.")
        }
        switch detail.remoteName ?? "" {
        case "org.freedesktop.DBus.Error.NoReply" where detail.message.contains("disconnected"):
            // The bus's answer to a call in flight when the provider left: "Message recipient disconnected from
            // message bus without replying".
            return disconnected(what)
        case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
            if providerAnswered { return disconnected(what) }
            return KeywayError(
                .noSecretService,
                "\(what): no Secret Service on the D-Bus session bus (\(detail.message)). Install and start a "
                    + "keyring (gnome-keyring, KeePassXC, KWallet), or use --backend encrypted or --backend plaintext.")
        case let name where name.hasPrefix("org.freedesktop.DBus.Error.Spawn"):
            return KeywayError(
                .noSecretService,
                "\(what): the Secret Service could not be started (\(detail.message)). Check the keyring daemon "
                    + "(gnome-keyring-daemon, KeePassXC...), or use --backend encrypted or --backend plaintext.")
        case "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout",
            "org.freedesktop.DBus.Error.TimedOut":
            return KeywayError(
                .keyringTimeout, "\(what): the Secret Service did not answer (\(detail.message)). Try again.")
        case "org.freedesktop.Secret.Error.IsLocked":
            return KeywayError(
                .keyringLocked, "\(what): the keyring is locked (\(detail.message)). Unlock it and try again.")
        default:
            if detail.isSecretLocked {
                return KeywayError(
                    .keyringLocked, "\(what): the keyring is locked (\(detail.message)). Unlock it and try again.")
            }
            return KeywayError(.keyringFailure, "\(what) failed: \(detail.message)")
        }
    }

    struct ErrorDetail {
        var message: String
        var remoteName: String?
        var isCancelled: Bool
        var isSecretLocked: Bool
    }

    /// Whether a GError (left as it is) says the object called does not exist: the Secret Service's NoSuchObject,
    /// D-Bus's UnknownObject, or GDBus's UnknownMethod for a path nothing is exported at (gnome-keyring: "Object does
    /// not exist at path ...").
    static func meansNoSuchObject(_ error: UnsafeMutablePointer<GError>?) -> Bool {
        guard let error, let remote = keyway_g_dbus_error_get_remote_error(error) else { return false }
        defer { keyway_g_free(remote) }
        switch String(cString: remote) {
        case "org.freedesktop.Secret.Error.NoSuchObject", "org.freedesktop.DBus.Error.UnknownObject":
            return true
        case "org.freedesktop.DBus.Error.UnknownMethod":
            return error.pointee.message.map { String(cString: $0).contains("does not exist") } ?? false
        default:
            return false
        }
    }

    /// Reads and frees a GError.
    static func take(_ error: UnsafeMutablePointer<GError>?) -> ErrorDetail {
        guard let error else {
            return ErrorDetail(
                message: "no explanation was given", remoteName: nil, isCancelled: false, isSecretLocked: false)
        }
        defer { keyway_g_error_free(error) }
        var remoteName: String?
        if let remote = keyway_g_dbus_error_get_remote_error(error) {
            remoteName = String(cString: remote)
            keyway_g_free(remote)
            keyway_g_dbus_error_strip_remote_error(error)
        }
        let domain = error.pointee.domain, code = error.pointee.code
        return ErrorDetail(
            message: error.pointee.message.map { String(cString: $0) } ?? "no explanation was given",
            remoteName: remoteName,
            isCancelled: domain == keyway_io_error_domain() && code == KEYWAY_G_IO_ERROR_CANCELLED,
            isSecretLocked: domain == keyway_secret_error_domain() && code == KEYWAY_SECRET_ERROR_IS_LOCKED)
    }

    /// A description that starts a sentence ("The default keyring collection...") put after a prefix.
    static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first, first.isUppercase, text.dropFirst().first?.isLowercase ?? true else {
            return text
        }
        return first.lowercased() + text.dropFirst()
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    /// A NULL-terminated, g_strdup'ed string vector (free with g_strfreev).
    static func strv(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<gchar>?> {
        let size = gsize((strings.count + 1) * MemoryLayout<UnsafeMutablePointer<gchar>?>.stride)
        let result = keyway_g_malloc0(size)!.bindMemory(
            to: UnsafeMutablePointer<gchar>?.self, capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { result[index] = keyway_g_strdup(string) }
        return result
    }

    /// The strings of a NULL-terminated vector (not freed).
    static func strings(_ vector: UnsafeMutablePointer<UnsafeMutablePointer<gchar>?>?) -> [String] {
        guard let vector else { return [] }
        var result: [String] = []
        var index = 0
        while let string = vector[index] {
            result.append(String(cString: string))
            index += 1
        }
        return result
    }

    static func table(_ attributes: [String: String]) -> OpaquePointer {
        let table = keyway_attributes_new()!
        for (name, value) in attributes { keyway_attributes_set(table, name, value) }
        return table
    }
}
