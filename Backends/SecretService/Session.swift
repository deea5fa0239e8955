import CLibSecret
import KeywayCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
        if let address = environment.nonEmpty("DBUS_SESSION_BUS_ADDRESS") {
            busAddress = address
            busAddressProblem = ""
        } else if let runtime = environment.nonEmpty("XDG_RUNTIME_DIR"), Self.isSocket(runtime + "/bus") {
            let escaped = g_dbus_address_escape_value(runtime + "/bus")
            busAddress = escaped.map { "unix:path=" + String(cString: $0) }
            g_free(escaped)
            busAddressProblem = ""
        } else {
            busAddress = nil
            busAddressProblem =
                environment.nonEmpty("XDG_RUNTIME_DIR") == nil
                ? "DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are not set"
                : "DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus"
        }
        timeout = Self.seconds(environment.nonEmpty("KEYWAY_KEYRING_TIMEOUT")) ?? 5
        promptTimeout = Self.seconds(environment.nonEmpty("KEYWAY_KEYRING_PROMPT_TIMEOUT")) ?? 120
        canPrompt = environment.nonEmpty("DISPLAY") != nil || environment.nonEmpty("WAYLAND_DISPLAY") != nil
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

/// One connection to the Secret Service for the duration of one store operation: a private D-Bus connection to the
/// configured bus, a `SecretService` proxy with an open transfer session, and a watchdog bounding every call.
/// Nothing of it (no GLib type, no pointer) leaves this backend.
final class Session {
    static let busName = "org.freedesktop.secrets"

    let configuration: SecretServiceConfiguration
    let watchdog: Watchdog
    private var connection: OpaquePointer?
    /// Whether `connection` is GLib's shared session bus connection (never closed here) or a private one.
    private var sharesProcessBus = false
    private(set) var service: UnsafeMutablePointer<SecretService>?

    var cancellable: UnsafeMutablePointer<GCancellable> { watchdog.cancellable }

    /// Connects, checks that a Secret Service is there (or can be started), and opens a transfer session.
    init(_ configuration: SecretServiceConfiguration) throws(KeywayError) {
        self.configuration = configuration
        guard let address = configuration.busAddress else {
            throw KeywayError(
                .noSessionBus,
                "No D-Bus session bus: \(configuration.busAddressProblem). The keyring backend needs a desktop "
                    + "session (or `dbus-run-session`) with a Secret Service such as gnome-keyring or KeePassXC; "
                    + "without one use --backend encrypted or --backend plaintext.")
        }
        watchdog = Watchdog(seconds: configuration.timeout)
        // libsecret always talks over this process's session bus connection (GLib's, found through the process
        // environment). When the environment given names that same bus, share it; otherwise a private connection
        // to the given address is enough to diagnose it, but the Secret Service cannot be used over it.
        sharesProcessBus = address == SecretServiceConfiguration(environment: .process()).busAddress
        var error: UnsafeMutablePointer<GError>?
        if sharesProcessBus {
            connection = g_bus_get_sync(G_BUS_TYPE_SESSION, watchdog.cancellable, &error)
        } else {
            let flags = GDBusConnectionFlags(
                rawValue: G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT.rawValue
                    | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION.rawValue)
            connection = g_dbus_connection_new_for_address_sync(address, flags, nil, watchdog.cancellable, &error)
        }
        if connection == nil || error != nil {
            let detail = Self.take(error)
            let why = watchdog.fired ? "it did not answer within \(Self.seconds(configuration.timeout))" : detail.message
            close()
            throw KeywayError(
                .noSessionBus,
                "Cannot connect to the D-Bus session bus at \(address): \(why). Start keyway inside your desktop "
                    + "session (or `dbus-run-session`), or use --backend encrypted or --backend plaintext.")
        }
        do throws(KeywayError) {
            try checkProvider()
            guard sharesProcessBus else {
                throw KeywayError(
                    .keyringFailure,
                    "The keyring backend can only use this process's own D-Bus session bus, and the environment it "
                        + "was given names another one (\(address)).")
            }
            error = nil
            service = secret_service_open_sync(
                secret_service_get_type(), nil, SECRET_SERVICE_OPEN_SESSION, watchdog.cancellable, &error)
            if service == nil || error != nil { throw failure(error, "Connecting to the Secret Service") }
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
        if let connection {
            if !sharesProcessBus { g_dbus_connection_close_sync(connection, nil, nil) }
            g_object_unref(UnsafeMutableRawPointer(connection))
        }
        connection = nil
        watchdog.stop()
    }

    // MARK: The bus

    /// Fails fast with `.noSecretService` when nothing owns `org.freedesktop.secrets` and the bus cannot start it:
    /// calling it anyway would only end in an error (or, on some buses, a long wait).
    private func checkProvider() throws(KeywayError) {
        if try busCall("NameHasOwner", argument: Self.busName, replyType: "(b)").map({ g_variant_get_boolean($0) != 0 })
            == true
        {
            return
        }
        let activatable = try busCall("ListActivatableNames", argument: nil, replyType: "(as)").map { strings -> Bool in
            var count: gsize = 0
            guard let names = g_variant_get_strv(strings, &count) else { return false }
            defer { g_free(UnsafeMutableRawPointer(mutating: names)) }
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
    private func busCall<T>(
        _ method: String, argument: String?, replyType: String, _ body: (OpaquePointer) -> T
    ) throws(KeywayError) -> T? {
        var error: UnsafeMutablePointer<GError>?
        let parameters: OpaquePointer? = argument.flatMap { keyway_variant_string_tuple($0) }
        let reply = g_dbus_connection_call_sync(
            connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", method, parameters,
            nil, G_DBUS_CALL_FLAGS_NONE, Int32(configuration.timeout * 1000), watchdog.cancellable, &error)
        if reply == nil || error != nil { throw failure(error, "Asking the D-Bus session bus (\(method))") }
        defer { g_variant_unref(reply) }
        guard String(cString: g_variant_get_type_string(reply)) == replyType else { return nil }
        let child = g_variant_get_child_value(reply, 0)!
        defer { g_variant_unref(child) }
        return body(child)
    }

    private func busCall(_ method: String, argument: String?, replyType: String) throws(KeywayError) -> OpaquePointer? {
        try busCall(method, argument: argument, replyType: replyType) { g_variant_ref($0) }
    }

    // MARK: Collections and items

    /// The collection the `default` alias points to, or nil when there is none.
    func defaultCollection() throws(KeywayError) -> Collection? {
        var error: UnsafeMutablePointer<GError>?
        let collection = secret_collection_for_alias_sync(
            service, "default", SECRET_COLLECTION_NONE, watchdog.cancellable, &error)
        if error != nil {
            keyway_unref(collection)
            throw failure(error, "Looking up the default keyring collection")
        }
        return collection.map(Collection.init)
    }

    /// Every item, in any collection, whose attributes include `attributes` (locked ones too, unlocked first).
    func search(_ attributes: [String: String]) throws(KeywayError) -> [Item] {
        let table = Self.table(attributes)
        defer { g_hash_table_unref(table) }
        var error: UnsafeMutablePointer<GError>?
        let list = secret_service_search_sync(service, nil, table, SECRET_SEARCH_ALL, watchdog.cancellable, &error)
        var items: [Item] = []
        var node = list
        while let current = node {
            if let data = current.pointee.data {
                items.append(Item(data.assumingMemoryBound(to: SecretItem.self)))  // takes the list's reference
            }
            node = current.pointee.next
        }
        g_list_free(list)
        if error != nil { throw failure(error, "Searching the keyring") }
        return items
    }

    /// Fetches the secrets of `items` in one call and returns them in the same order (nil for an item without one).
    func secrets(_ items: [Item]) throws(KeywayError) -> [[UInt8]?] {
        guard !items.isEmpty else { return [] }
        var list: UnsafeMutablePointer<GList>?
        for item in items.reversed() { list = g_list_prepend(list, item.pointer) }
        defer { g_list_free(list) }
        var error: UnsafeMutablePointer<GError>?
        if secret_item_load_secrets_sync(list, watchdog.cancellable, &error) == 0 || error != nil {
            throw failure(error, "Reading secrets from the keyring")
        }
        return items.map { item in
            guard let value = secret_item_get_secret(item.pointer) else { return nil }
            defer { secret_value_unref(UnsafeMutableRawPointer(value)) }
            var length: gsize = 0
            guard let bytes = secret_value_get(value, &length) else { return [] }
            return bytes.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                Array(UnsafeBufferPointer(start: $0, count: Int(length)))
            }
        }
    }

    /// Creates an item in `collection`; libsecret encrypts the secret for the transfer session.
    @discardableResult
    func createItem(
        in collection: Collection, attributes: [String: String], label: String, secret: String
    ) throws(KeywayError) -> Item {
        let table = Self.table(attributes)
        defer { g_hash_table_unref(table) }
        let value = keyway_value_new(secret, gssize(secret.utf8.count))
        defer { secret_value_unref(UnsafeMutableRawPointer(value)) }
        var error: UnsafeMutablePointer<GError>?
        let item = secret_item_create_sync(
            collection.pointer, nil, table, label, value, SECRET_ITEM_CREATE_NONE, watchdog.cancellable, &error)
        guard let item, error == nil else {
            keyway_unref(item)
            throw failure(error, "Storing the item in the keyring collection \(collection.name)")
        }
        return Item(item)
    }

    /// Stores through the `default` alias when no collection has it yet: the Secret Service then asks (with a
    /// prompt) to create the default collection, as `secret-tool store` does.
    func storeInNewDefaultCollection(attributes: [String: String], label: String, secret: String) throws(KeywayError) {
        let table = Self.table(attributes)
        defer { g_hash_table_unref(table) }
        let value = keyway_value_new(secret, gssize(secret.utf8.count))
        defer { secret_value_unref(UnsafeMutableRawPointer(value)) }
        var error: UnsafeMutablePointer<GError>?
        watchdog.extend(seconds: configuration.promptTimeout)
        let stored = secret_service_store_sync(
            service, nil, table, "/org/freedesktop/secrets/aliases/default", label, value, watchdog.cancellable, &error)
        watchdog.extend(seconds: configuration.timeout)
        if stored == 0 || error != nil {
            throw failure(error, "Creating the default keyring collection", prompting: true)
        }
    }

    func delete(_ item: Item) throws(KeywayError) {
        var error: UnsafeMutablePointer<GError>?
        if secret_item_delete_sync(item.pointer, watchdog.cancellable, &error) == 0 || error != nil {
            throw failure(error, "Deleting the keyring item \(item.path)")
        }
    }

    /// Unlocks `objects` (collections or items), showing the Secret Service's prompt. Fails with `.keyringLocked`
    /// when no prompt can be shown here, and with `.keyringPromptDismissed` when the prompt unlocked nothing.
    func unlock(_ objects: [UnsafeMutableRawPointer], describing what: String) throws(KeywayError) {
        guard configuration.canPrompt else {
            throw KeywayError(
                .keyringLocked,
                "\(what) is locked, and no unlock prompt can be shown here (neither DISPLAY nor WAYLAND_DISPLAY is "
                    + "set). Unlock it in your desktop session (e.g. log in graphically, or open Seahorse), then try "
                    + "again; on a server use --backend encrypted or --backend plaintext.")
        }
        var list: UnsafeMutablePointer<GList>?
        for object in objects.reversed() { list = g_list_prepend(list, object) }
        defer { g_list_free(list) }
        var unlocked: UnsafeMutablePointer<GList>?
        var error: UnsafeMutablePointer<GError>?
        watchdog.extend(seconds: configuration.promptTimeout)
        let count = secret_service_unlock_sync(service, list, watchdog.cancellable, &unlocked, &error)
        watchdog.extend(seconds: configuration.timeout)
        g_list_free_full(unlocked, { keyway_unref($0) })
        if error != nil { throw failure(error, "Unlocking \(what)", prompting: true) }
        if count <= 0 {
            throw KeywayError(
                .keyringPromptDismissed,
                "The prompt to unlock \(what) was dismissed (or could not be shown), so it is still locked; "
                    + "nothing was read or changed. Run the command again and unlock it.")
        }
    }

    // MARK: Errors

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
        case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
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

    /// Reads and frees a GError.
    static func take(_ error: UnsafeMutablePointer<GError>?) -> ErrorDetail {
        guard let error else {
            return ErrorDetail(
                message: "no explanation was given", remoteName: nil, isCancelled: false, isSecretLocked: false)
        }
        defer { g_error_free(error) }
        var remoteName: String?
        if let remote = g_dbus_error_get_remote_error(error) {
            remoteName = String(cString: remote)
            g_free(remote)
            g_dbus_error_strip_remote_error(error)
        }
        let domain = error.pointee.domain, code = error.pointee.code
        return ErrorDetail(
            message: error.pointee.message.map { String(cString: $0) } ?? "no explanation was given",
            remoteName: remoteName,
            isCancelled: domain == keyway_io_error_domain() && code == Int32(G_IO_ERROR_CANCELLED.rawValue),
            isSecretLocked: domain == keyway_secret_error_domain() && code == Int32(SECRET_ERROR_IS_LOCKED.rawValue))
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    static func table(_ attributes: [String: String]) -> OpaquePointer {
        let table = keyway_attributes_new()!
        for (name, value) in attributes { keyway_attributes_set(table, name, value) }
        return table
    }
}

/// A `SecretCollection` proxy, released with the value.
final class Collection {
    let pointer: UnsafeMutablePointer<SecretCollection>
    init(_ pointer: UnsafeMutablePointer<SecretCollection>) { self.pointer = pointer }
    deinit { keyway_unref(pointer) }

    var path: String { String(cString: keyway_proxy_path(pointer)) }
    var isLocked: Bool { secret_collection_get_locked(pointer) != 0 }
    /// The label, else the last part of the path.
    var name: String {
        let label = secret_collection_get_label(pointer).map { pointer -> String in
            defer { g_free(pointer) }
            return String(cString: pointer)
        }
        if let label, !label.isEmpty { return "'\(label)'" }
        return path
    }
}

/// A `SecretItem` proxy with the properties Keyway uses, read once.
final class Item {
    let pointer: UnsafeMutablePointer<SecretItem>
    let path: String
    let isLocked: Bool
    let attributes: [String: String]
    let created: Int64
    let modified: Int64

    init(_ pointer: UnsafeMutablePointer<SecretItem>) {
        self.pointer = pointer
        path = String(cString: keyway_proxy_path(pointer))
        isLocked = secret_item_get_locked(pointer) != 0
        created = Int64(secret_item_get_created(pointer))
        modified = Int64(secret_item_get_modified(pointer))
        var attributes: [String: String] = [:]
        if let table = secret_item_get_attributes(pointer) {
            var iterator = GHashTableIter()
            g_hash_table_iter_init(&iterator, table)
            var key: gpointer?
            var value: gpointer?
            while g_hash_table_iter_next(&iterator, &key, &value) != 0 {
                if let key, let value {
                    attributes[String(cString: key.assumingMemoryBound(to: CChar.self))] =
                        String(cString: value.assumingMemoryBound(to: CChar.self))
                }
            }
            g_hash_table_unref(table)
        }
        self.attributes = attributes
    }

    deinit { keyway_unref(pointer) }

    /// The path of the collection holding the item (its path without the last component).
    var collectionPath: String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[..<slash])
    }
}
