internal import CLibSecret
import KeywayCore

/// Calls that may show a prompt (create, delete, unlock): bounded by the prompt timeout, ended by a provider that
/// leaves the bus.
extension Session {
    /// Runs a libsecret call that may show a prompt (CreateItem, Delete, Unlock, storing through an alias), which its
    /// synchronous form would wait for with no bound: `start` begins it (with the callback and data it is given) on
    /// the session's reply context, `finish` collects it. It is bounded by the prompt timeout, and ended at once when
    /// the provider leaves the bus meanwhile (`.keyringDisconnected`). An abandoned call is cancelled, with the rest
    /// of the session.
    func mayPrompt<T>(
        _ what: String, start: (GAsyncReadyCallback?, gpointer) -> Void,
        finish: (OpaquePointer?, inout UnsafeMutablePointer<GError>?) -> T
    ) throws(KeywayError) -> T {
        let call = keyway_async_new()!
        let connection = keyway_proxy_connection(service)
        let watch = keyway_async_watch_provider(replies, connection, call)
        // The watchdog waits a little longer than the call's own bound, which is the one that reports.
        watchdog.extend(seconds: configuration.promptTimeout + 1)
        keyway_g_main_context_push_thread_default(replies)
        start(keyway_async_callback(), UnsafeMutableRawPointer(call))
        keyway_g_main_context_pop_thread_default(replies)
        let outcome = keyway_async_wait(replies, connection, watch, call, UInt32(configuration.promptTimeout * 1000))
        watchdog.extend(seconds: configuration.timeout)
        switch outcome {
        case 0:
            var error: UnsafeMutablePointer<GError>?
            let value = finish(call.pointee.result, &error)
            keyway_async_free(call)
            if error != nil { throw failure(error, what, prompting: true) }
            return value
        case 2:
            keyway_g_cancellable_cancel(cancellable)
            throw disconnected(what)
        default:
            keyway_g_cancellable_cancel(cancellable)
            throw KeywayError(
                .keyringTimeout,
                "\(what): the Secret Service did not finish within \(Self.seconds(configuration.promptTimeout)), the "
                    + "time a call that may show a prompt is given: the prompt was not answered, or the provider is "
                    + "hung. Answer the prompt sooner or set KEYWAY_KEYRING_PROMPT_TIMEOUT for more time; check the "
                    + "keyring daemon.")
        }
    }

    /// The provider answered earlier in this session and has left the bus since (it exited, crashed or was killed).
    func disconnected(_ what: String) -> KeywayError {
        KeywayError(
            .keyringDisconnected,
            "\(what): the Secret Service (\(Self.busName)) disconnected from the D-Bus session bus during the "
                + "command (it exited, crashed or was killed). Check the keyring daemon (gnome-keyring-daemon, "
                + "KeePassXC, kwalletd), start it again, and check that the key is as expected.")
    }

    /// Unlocks the objects (collections or items) at `paths`, showing the Secret Service's prompt. Fails with
    /// `.keyringLocked` when no prompt can be shown here, and with `.keyringPromptDismissed` when the prompt unlocked
    /// nothing.
    func unlock(_ paths: [String], describing what: String) throws(KeywayError) {
        guard configuration.canPrompt else {
            throw KeywayError(
                .keyringLocked,
                "\(what) is locked, and no unlock prompt can be shown here (neither DISPLAY nor WAYLAND_DISPLAY is "
                    + "set). Unlock it in your desktop session (e.g. log in graphically, or open Seahorse), then try "
                    + "again; on a server use --backend encrypted or --backend plaintext.")
        }
        let list = Self.strv(paths)
        defer { keyway_g_strfreev(list) }
        let service = self.service
        let count = try mayPrompt("Unlocking \(Self.lowercasedFirst(what))") { callback, data in
            list.withMemoryRebound(to: UnsafePointer<gchar>?.self, capacity: paths.count + 1) {
                keyway_secret_service_unlock_dbus_paths(service, $0, cancellable, callback, data)
            }
        } finish: { result, error in
            var unlocked: UnsafeMutablePointer<UnsafeMutablePointer<gchar>?>?
            defer { keyway_g_strfreev(unlocked) }
            return keyway_secret_service_unlock_dbus_paths_finish(service, result, &unlocked, &error)
        }
        if count <= 0 {
            throw KeywayError(
                .keyringPromptDismissed,
                "The prompt to unlock \(what) was dismissed (or could not be shown), so it is still locked; "
                    + "nothing was read or changed. Run the command again and unlock it.")
        }
    }

}
