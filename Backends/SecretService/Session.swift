internal import CLibSecret
import Glibc
import KeywayCore

/// One connection to the Secret Service for the duration of one store operation: the process's session bus
/// connection (or, to diagnose another bus, a private one), a `SecretService` proxy whose encrypted transfer session
/// is opened when secrets are about to move (`openTransferSession`), and a watchdog bounding every call.
/// Nothing of it (no GLib type, no pointer) leaves this backend.
final class Session {
    static let busName = "org.freedesktop.secrets"

    let configuration: SecretServiceConfiguration
    let watchdog: Watchdog
    private var connection: OpaquePointer?
    /// Whether `connection` is GLib's shared session bus connection (never closed here) or a private one.
    private var sharesProcessBus = false
    var service: OpaquePointer?
    /// Whether the Secret Service was seen in this session: on the bus when the proxy was made, or answering a call
    /// since. Once it was, its absence means it left the bus (`.keyringDisconnected`), not that nothing provides it.
    var providerAnswered = false
    /// The private main context the replies of Keyway's own asynchronous calls are dispatched on (see `beginSearch`,
    /// `beginProperties`); never the thread's or the program's. Created at the first such call, freed by `close`.
    private var repliesContext: OpaquePointer?
    var replies: OpaquePointer {
        if let repliesContext { return repliesContext }
        let context = keyway_g_main_context_new()!
        repliesContext = context
        return context
    }

    var cancellable: OpaquePointer { watchdog.cancellable }

    /// Whether the last `SearchItems` went unanswered within its own bound (half the timeout, the other half being
    /// left to find out why): KeePassXC, with its default "Unlock database before searching", holds a search back
    /// while its database is locked and shows its own unlock dialog. See `SecretServiceStore.searching`.
    var searchTimedOut = false

    /// Connects and opens the `SecretService` proxy (a Secret Service that is missing and cannot be started is
    /// reported here or at the first call); no transfer session yet.
    init(_ configuration: SecretServiceConfiguration) throws(KeywayError) {
        self.configuration = configuration
        guard let address = configuration.busAddress else {
            throw KeywayError(
                .noSessionBus,
                "No D-Bus session bus: \(configuration.busAddressProblem). The keyring backend needs a desktop "
                    + "session (or `dbus-run-session`) with a Secret Service such as gnome-keyring or KeePassXC; "
                    + "without one use --backend encrypted or --backend plaintext.")
        }
        // Nothing before this point needs GLib: libsecret (and GLib, GIO, GObject with it) is loaded here, the first
        // time a command opens the Secret Service store.
        try LibSecret.load()
        // libsecret always talks over this process's session bus connection (GLib's, found through the process
        // environment). When the environment given names that same bus, share it; otherwise a private connection
        // to the given address is enough to diagnose it, but the Secret Service cannot be used over it.
        sharesProcessBus = address == SecretServiceConfiguration.processBusAddress
        // GLib sends the bus Hello without the cancellable (25 s timeout), so the connection step runs on the
        // watchdog's thread and is waited for only until the timeout: a bus that never answers is reported then.
        let shares = sharesProcessBus
        watchdog = Watchdog(
            seconds: configuration.timeout,
            connect: { cancellable in
                var error: UnsafeMutablePointer<GError>?
                if shares {
                    return ConnectOutcome(
                        connection: keyway_g_bus_get_sync(KEYWAY_G_BUS_TYPE_SESSION, cancellable, &error), error: error)
                }
                let flags =
                    KEYWAY_G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                    | KEYWAY_G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION
                let connection = keyway_g_dbus_connection_new_for_address_sync(address, flags, nil, cancellable, &error)
                return ConnectOutcome(connection: connection, error: error)
            },
            discard: { late in
                if let connection = late.connection { keyway_g_object_unref(UnsafeMutableRawPointer(connection)) }
                if let error = late.error { keyway_g_error_free(error) }
            })
        let outcome = watchdog.connection()
        connection = outcome?.connection
        var error = outcome?.error
        if outcome == nil || connection == nil || error != nil {
            let detail = Self.take(error)
            let silent = outcome == nil || watchdog.fired
            let why = silent ? "it did not answer within \(Self.seconds(configuration.timeout))" : detail.message
            close()
            // A bus that accepted the connection and then said nothing is there but failing (a timeout), not absent.
            throw KeywayError(
                silent ? .keyringTimeout : .noSessionBus,
                "Cannot connect to the D-Bus session bus at \(address): \(why). Start keyway inside your desktop "
                    + "session (or `dbus-run-session`), or use --backend encrypted or --backend plaintext.")
        }
        do throws(KeywayError) {
            guard sharesProcessBus else {
                // Only diagnosed: say whether that bus has a Secret Service, else that it cannot be used.
                try checkProvider()
                throw KeywayError(
                    .keyringFailure,
                    "The keyring backend can only use this process's own D-Bus session bus, and the environment it "
                        + "was given names another one (\(address)).")
            }
            // No separate provider check first (it would cost a round trip on every run): the first call to the
            // Secret Service fails with ServiceUnknown when nothing provides it and the bus cannot start it, and
            // only then is the bus asked, for the precise error (here, and in `SecretServiceStore.withSession`).
            // Activation stays bounded by the watchdog. The transfer session (its key exchange) is opened when
            // secrets are about to move: see `openTransferSession`.
            error = nil
            service = keyway_secret_service_open_sync(
                keyway_secret_service_get_type(), nil, KEYWAY_FLAGS_NONE, watchdog.cancellable, &error)
            if service == nil || error != nil {
                let opening = failure(error, "Connecting to the Secret Service")
                if opening.code == .noSecretService { try checkProvider() }
                throw opening
            }
            // The provider was on the bus when the command started: its absence later means it left.
            providerAnswered = keyway_proxy_has_owner(service) != 0
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Releases the proxies and the connection; safe to call twice.
    func close() {
        if let service { keyway_unref(service) }
        service = nil
        if let repliesContext { keyway_g_main_context_unref(repliesContext) }
        repliesContext = nil
        if let connection {
            if !sharesProcessBus { keyway_g_dbus_connection_close_sync(connection, nil, nil) }
            keyway_g_object_unref(UnsafeMutableRawPointer(connection))
        }
        connection = nil
        watchdog.stop()
    }

    // MARK: The bus

    /// Fails fast with `.noSecretService` when nothing owns `org.freedesktop.secrets` and the bus cannot start it:
    /// calling it anyway would only end in an error (or, on some buses, a long wait).
    func checkProvider() throws(KeywayError) {
        if try busCall("NameHasOwner", argument: Self.busName, replyType: "(b)").map({
            keyway_g_variant_get_boolean($0) != 0
        })
            == true
        {
            return
        }
        let activatable = try busCall("ListActivatableNames", argument: nil, replyType: "(as)").map { strings -> Bool in
            var count: gsize = 0
            guard let names = keyway_g_variant_get_strv(strings, &count) else { return false }
            defer { keyway_g_free(UnsafeMutableRawPointer(mutating: names)) }
            return (0..<Int(count)).contains { names[$0].map { String(cString: $0) } == Self.busName }
        }
        if activatable != true {
            throw KeywayError(
                .noSecretService,
                "No Secret Service on the D-Bus session bus: nothing provides \(Self.busName) and the bus cannot "
                    + "start it. Install and start a keyring (gnome-keyring, KeePassXC with Secret Service "
                    + "integration, KWallet), or use --backend encrypted or --backend plaintext.")
        }
    }

    /// Calls a method of the bus daemon itself; returns the reply's first value (nil when the reply has another type).
    func busCall<T>(
        _ method: String, argument: String?, replyType: String, _ body: (OpaquePointer) -> T
    ) throws(KeywayError) -> T? {
        var error: UnsafeMutablePointer<GError>?
        let parameters: OpaquePointer? = argument.flatMap { keyway_variant_string_tuple($0) }
        let reply = keyway_g_dbus_connection_call_sync(
            connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", method, parameters,
            nil, KEYWAY_FLAGS_NONE, Int32(configuration.timeout * 1000), watchdog.cancellable, &error)
        if reply == nil || error != nil { throw failure(error, "Asking the D-Bus session bus (\(method))") }
        defer { keyway_g_variant_unref(reply) }
        guard String(cString: keyway_g_variant_get_type_string(reply)) == replyType else { return nil }
        let child = keyway_g_variant_get_child_value(reply, 0)!
        defer { keyway_g_variant_unref(child) }
        return body(child)
    }

    func busCall(_ method: String, argument: String?, replyType: String) throws(KeywayError) -> OpaquePointer? {
        try busCall(method, argument: argument, replyType: replyType) { keyway_g_variant_ref($0) }
    }

}
