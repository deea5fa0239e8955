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
            let escaped = g_dbus_address_escape_value(runtime + "/bus")
            defer { g_free(escaped) }
            return (escaped.map { "unix:path=" + String(cString: $0) }, "")
        }
        return (
            nil,
            runtime == nil
                ? "DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are not set"
                : "DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus"
        )
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
                    .invalidInput, "\(name) must be a number of seconds greater than 0 and at most 3600 (such as 5 or 0.5).")
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
    private(set) var service: UnsafeMutablePointer<SecretService>?
    /// Whether the Secret Service was seen in this session: on the bus when the proxy was made, or answering a call
    /// since. Once it was, its absence means it left the bus (`.keyringDisconnected`), not that nothing provides it.
    private(set) var providerAnswered = false
    /// The private main context the replies of Keyway's own asynchronous calls are dispatched on (see `beginSearch`,
    /// `beginProperties`); never the thread's or the program's. Created at the first such call, freed by `close`.
    private var repliesContext: OpaquePointer?
    private var replies: OpaquePointer {
        if let repliesContext { return repliesContext }
        let context = g_main_context_new()!
        repliesContext = context
        return context
    }

    var cancellable: UnsafeMutablePointer<GCancellable> { watchdog.cancellable }

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
                        connection: g_bus_get_sync(G_BUS_TYPE_SESSION, cancellable, &error), error: error)
                }
                let flags = GDBusConnectionFlags(
                    rawValue: G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT.rawValue
                        | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION.rawValue)
                let connection = g_dbus_connection_new_for_address_sync(address, flags, nil, cancellable, &error)
                return ConnectOutcome(connection: connection, error: error)
            },
            discard: { late in
                if let connection = late.connection { g_object_unref(UnsafeMutableRawPointer(connection)) }
                if let error = late.error { g_error_free(error) }
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
            service = secret_service_open_sync(
                secret_service_get_type(), nil, SECRET_SERVICE_NONE, watchdog.cancellable, &error)
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
        if let repliesContext { g_main_context_unref(repliesContext) }
        repliesContext = nil
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
    func checkProvider() throws(KeywayError) {
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
        providerAnswered = true
        return collection.map(Collection.init)
    }

    /// The object path of the collection the `default` alias points to, or nil when there is none: one
    /// `ReadAlias` call, without building a collection proxy.
    func defaultCollectionPath() throws(KeywayError) -> String? {
        var error: UnsafeMutablePointer<GError>?
        let path = secret_service_read_alias_dbus_path_sync(service, "default", watchdog.cancellable, &error)
        defer { g_free(path) }
        if error != nil { throw failure(error, "Looking up the default keyring collection") }
        providerAnswered = true
        guard let path, String(cString: path) != "/" else { return nil }
        return String(cString: path)
    }

    /// A collection's label and lock state, read in one `GetAll` call.
    func collectionInfo(_ path: String) throws(KeywayError) -> (name: String, isLocked: Bool) {
        let properties = try properties(of: path, "org.freedesktop.Secret.Collection", "Reading the keyring collection")
        defer { g_variant_unref(properties) }
        let label = keyway_properties_string(properties, "Label").map { pointer -> String in
            defer { g_free(pointer) }
            return String(cString: pointer)
        }
        return (label.map { $0.isEmpty ? path : "'\($0)'" } ?? path, keyway_properties_bool(properties, "Locked", 0) != 0)
    }

    /// Every item, in any collection, whose attributes include `attributes` (locked ones too, unlocked first): one
    /// `SearchItems` call, then the `GetAll` of every item found, several in flight at once (no item proxies).
    /// With no attributes, every item of every collection, enumerated (see `allItemPaths`), not searched for.
    func search(_ attributes: [String: String]) throws(KeywayError) -> [Item] {
        if attributes.isEmpty { return try items(at: allItemPaths()) }
        return try items(at: finishSearch(beginSearch(attributes)).all)
    }

    /// The object paths of every item of every collection: the service's `Collections`, then each collection's
    /// `Items` (one `GetAll` each, in flight together). Not `SearchItems({})`: KeePassXC answers an empty search with
    /// no items at all, while gnome-keyring and KWallet return everything.
    func allItemPaths() throws(KeywayError) -> [String] {
        let service = try properties(
            of: "/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "Listing the keyring collections")
        let collections = Self.paths(service, "Collections")
        g_variant_unref(service)
        let pending = collections.map { beginProperties(of: $0, "org.freedesktop.Secret.Collection") }
        var paths: [String] = []
        var firstError: KeywayError?
        // Every call begun is finished (and freed), even after one failed.
        for (collection, call) in zip(collections, pending) {
            do {
                let properties = try finishProperties(call, of: collection, "Listing the keyring collection \(collection)")
                paths += Self.paths(properties, "Items")
                g_variant_unref(properties)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return paths
    }

    /// An `ao` property of an `a{sv}`.
    private static func paths(_ properties: OpaquePointer, _ name: String) -> [String] {
        let vector = keyway_properties_paths(properties, name)
        defer { g_strfreev(vector) }
        return strings(vector)
    }

    /// A search for one item, arranged so that the round trips overlap: the `SearchItems` call is in flight while
    /// the transfer session is opened (libgcrypt's key exchange, the costliest step), and when exactly one unlocked
    /// item matches, its `GetAll` is in flight while libsecret's `GetSecrets` runs. The secret is returned with the
    /// path it belongs to; the caller uses it only if it picks that item.
    func searchOne(_ attributes: [String: String]) throws(KeywayError) -> (items: [Item], secret: Prefetched?) {
        let search = beginSearch(attributes)
        var sessionOpened = true
        do {
            try openTransferSession()
        } catch where error.code == .keyringFailure {
            sessionOpened = false  // the secrets read opens it again, over a fresh session if need be
        } catch {
            _ = try? finishSearch(search)  // still awaited and freed
            throw error
        }
        let found = try finishSearch(search)
        guard sessionOpened, found.unlocked.count == 1, found.locked.isEmpty else {
            return (try items(at: found.all), nil)
        }
        let path = found.unlocked[0]
        let pending = beginProperties(of: path)
        let secret: [UInt8]??
        do {
            secret = try secrets(atPaths: [path]).first
        } catch {
            // The GetAll in flight is still awaited and freed.
            if let properties = try? finishProperties(pending, of: path) { g_variant_unref(properties) }
            throw error
        }
        let item = try item(at: path, finishProperties(pending, of: path))
        return ([item], secret.flatMap { $0 }.map { Prefetched(path: path, bytes: $0) })
    }

    /// Opens the transfer session secrets travel in (Diffie-Hellman key exchange, AES), unless it is open already.
    /// libsecret opens it on its own before reading or storing a secret; this lets a caller open it earlier, while
    /// another call is in flight.
    ///
    /// libsecret falls back to an unencrypted ("plain") session when the provider declines the key exchange; Keyway
    /// does not: every path that moves a secret calls this first, and it fails unless the session is encrypted.
    func openTransferSession() throws(KeywayError) {
        var error: UnsafeMutablePointer<GError>?
        if secret_service_ensure_session_sync(service, watchdog.cancellable, &error) == 0 || error != nil {
            throw failure(error, "Opening an encrypted transfer session with the Secret Service")
        }
        providerAnswered = true
        let algorithm = secret_service_get_session_algorithms(service).map { String(cString: $0) }
        guard algorithm == Self.encryptedTransfer else {
            throw KeywayError(
                .keyringPlainSession,
                "The Secret Service accepted no encrypted transfer session (negotiated: \(algorithm ?? "none")), so "
                    + "secrets would cross the D-Bus session bus in clear text; Keyway refuses to move a secret that "
                    + "way and nothing was read or stored. Use a provider that supports \(Self.encryptedTransfer) "
                    + "(gnome-keyring, KeePassXC, KWallet), or --backend encrypted.")
        }
    }

    /// Replaces the `SecretService` proxy (and with it the transfer session libsecret keeps in it) by a new one, so
    /// that the next secret to move gets a fresh key exchange. `Collection` proxies made before belong to the old
    /// one: open them again.
    func renewTransferSession() throws(KeywayError) {
        var error: UnsafeMutablePointer<GError>?
        let fresh = secret_service_open_sync(
            secret_service_get_type(), nil, SECRET_SERVICE_NONE, watchdog.cancellable, &error)
        guard let fresh, error == nil else {
            keyway_unref(fresh)
            throw failure(error, "Opening a fresh transfer session with the Secret Service")
        }
        if let service { keyway_unref(service) }
        service = fresh
    }

    /// Whether the item at `path` holds exactly `secret`, read back through the Secret Service (`secrets`, with its
    /// retry). A read that fails with a provider error counts as no.
    func holds(_ path: String, _ secret: String) throws(KeywayError) -> Bool {
        do throws(KeywayError) {
            guard let stored = try secrets(atPaths: [path]).first, let stored else { return false }
            return stored == Array(secret.utf8)
        } catch where error.code == .keyringFailure {
            return false
        }
    }

    /// The transfer session algorithm libsecret negotiates when it can encrypt (Diffie-Hellman, AES-128).
    static let encryptedTransfer = "dh-ietf1024-sha256-aes128-cbc-pkcs7"

    /// A secret read ahead by `searchOne`, and the item it belongs to.
    struct Prefetched {
        let path: String
        let bytes: [UInt8]
    }

    /// Sends `SearchItems` without waiting; finish it (exactly once) with `finishSearch`.
    private func beginSearch(_ attributes: [String: String]) -> UnsafeMutablePointer<KeywayPendingCall> {
        let table = Self.table(attributes)
        defer { g_hash_table_unref(table) }
        return keyway_call_begin(
            replies, keyway_proxy_connection(service), "/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
            "SearchItems", keyway_search_arguments(table), "(aoao)", Int32(configuration.timeout * 500),
            watchdog.cancellable)
    }

    /// Whether the last `SearchItems` went unanswered within its own bound (half the timeout, the other half being
    /// left to find out why): KeePassXC, with its default "Unlock database before searching", holds a search back
    /// while its database is locked and shows its own unlock dialog. See `SecretServiceStore.searching`.
    var searchTimedOut = false

    /// The object paths `SearchItems` returned, unlocked and locked.
    private func finishSearch(_ pending: UnsafeMutablePointer<KeywayPendingCall>) throws(KeywayError) -> (
        unlocked: [String], locked: [String], all: [String]
    ) {
        var error: UnsafeMutablePointer<GError>?
        guard let reply = keyway_call_finish(replies, pending, &error), error == nil else {
            if let error, !watchdog.fired, error.pointee.domain == keyway_io_error_domain(),
                error.pointee.code == Int32(G_IO_ERROR_TIMED_OUT.rawValue)
            {
                searchTimedOut = true
                g_error_free(error)
                throw KeywayError(
                    .keyringTimeout,
                    "Searching the keyring: the Secret Service (\(Self.busName)) did not answer within "
                        + "\(Self.seconds(configuration.timeout / 2)). It may be starting or hung; try again, check the "
                        + "keyring daemon, or set KEYWAY_KEYRING_TIMEOUT for a longer wait.")
            }
            throw failure(error, "Searching the keyring")
        }
        providerAnswered = true
        defer { g_variant_unref(reply) }
        let unlocked = keyway_reply_paths(reply, 0), locked = keyway_reply_paths(reply, 1)
        defer {
            g_strfreev(unlocked)
            g_strfreev(locked)
        }
        let unlockedPaths = Self.strings(unlocked), lockedPaths = Self.strings(locked)
        return (unlockedPaths, lockedPaths, unlockedPaths + lockedPaths)
    }

    /// The items among `paths` that still exist (see `items(at:)`).
    func existing(_ paths: [String]) throws(KeywayError) -> Set<String> {
        Set(try items(at: paths).map(\.path))
    }

    /// The items at `paths`: one `GetAll` each, sent in batches of `maximumCallsInFlight` whose replies are awaited
    /// together (a search can match every item of a large keyring).
    private func items(at paths: [String]) throws(KeywayError) -> [Item] {
        var items: [Item] = []
        var firstError: KeywayError?
        var start = 0
        while start < paths.count {
            let batch = paths[start..<min(start + Self.maximumCallsInFlight, paths.count)]
            start = batch.endIndex
            let pending = batch.map { beginProperties(of: $0) }
            // Every call begun is finished (and freed), even after one failed. An item removed since it was found
            // (by another program, between the search and this call) is left out.
            for (path, call) in zip(batch, pending) {
                var error: UnsafeMutablePointer<GError>?
                if let reply = keyway_call_finish(replies, call, &error), error == nil {
                    let properties = g_variant_get_child_value(reply, 0)!
                    g_variant_unref(reply)
                    items.append(item(at: path, properties))
                } else if Self.isNoSuchObject(error) {
                    g_error_free(error)
                } else {
                    let failed = failure(error, "Reading the keyring item \(path)")
                    firstError = firstError ?? failed
                }
            }
            if let firstError { throw firstError }
        }
        return items
    }

    /// Whether a call failed because its object does not exist (any more): what providers answer for an item just
    /// removed (KWallet: UnknownObject "No such object path"; gnome-keyring, KeePassXC: UnknownMethod/Interface).
    static func isNoSuchObject(_ error: UnsafeMutablePointer<GError>?) -> Bool {
        guard let error, let remote = g_dbus_error_get_remote_error(error) else { return false }
        defer { g_free(remote) }
        return [
            "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod",
            "org.freedesktop.DBus.Error.UnknownInterface", "org.freedesktop.Secret.Error.NoSuchObject",
        ].contains(String(cString: remote))
    }

    /// How many calls Keyway keeps in flight at once (the bus limits pending replies per connection).
    static let maximumCallsInFlight = 32

    private func item(at path: String, _ properties: OpaquePointer) -> Item {
        defer { g_variant_unref(properties) }
        return Item(path: path, properties: properties)
    }

    /// Fetches the secrets of `items` in one call and returns them in the same order (nil for an item without one).
    func secrets(_ items: [Item]) throws(KeywayError) -> [[UInt8]?] {
        try secrets(atPaths: items.map(\.path))
    }

    /// One `GetSecrets` call; when it fails, or leaves out an item asked for, it is repeated once over a fresh
    /// transfer session (`renewTransferSession`) before anything is reported: KWallet fails about 1% of reads that
    /// way ("Client public key size is invalid", or no secret at all), and the next session works.
    private func secrets(atPaths itemPaths: [String]) throws(KeywayError) -> [[UInt8]?] {
        guard !itemPaths.isEmpty else { return [] }
        do throws(KeywayError) {
            let first = try fetchSecrets(atPaths: itemPaths)
            if !first.contains(where: { $0 == nil }) { return first }
        } catch where error.code == .keyringFailure {
            // retried below
        }
        try renewTransferSession()
        return try fetchSecrets(atPaths: itemPaths)
    }

    private func fetchSecrets(atPaths itemPaths: [String]) throws(KeywayError) -> [[UInt8]?] {
        try openTransferSession()
        let paths = Self.strv(itemPaths)
        defer { g_strfreev(paths) }
        var error: UnsafeMutablePointer<GError>?
        let table = paths.withMemoryRebound(to: UnsafePointer<gchar>?.self, capacity: itemPaths.count + 1) {
            secret_service_get_secrets_for_dbus_paths_sync(service, $0, watchdog.cancellable, &error)
        }
        guard let table, error == nil else {
            if let table { g_hash_table_unref(table) }
            throw failure(error, "Reading secrets from the keyring")
        }
        defer { g_hash_table_unref(table) }
        return itemPaths.map { path in
            guard let found = g_hash_table_lookup(table, path) else { return nil }
            var length: gsize = 0
            guard let bytes = secret_value_get(OpaquePointer(found), &length) else { return [] }
            return bytes.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                Array(UnsafeBufferPointer(start: $0, count: Int(length)))
            }
        }
    }

    /// `Properties.GetAll(interface)` on a Secret Service object (a new reference to the `a{sv}`).
    private func properties(of path: String, _ interface: String, _ what: String) throws(KeywayError) -> OpaquePointer {
        try finishProperties(beginProperties(of: path, interface), of: path, what)
    }

    /// Sends `Properties.GetAll(interface)` (an item's by default) without waiting; finish it (exactly once) with
    /// `finishProperties`.
    private func beginProperties(of path: String, _ interface: String = "org.freedesktop.Secret.Item")
        -> UnsafeMutablePointer<KeywayPendingCall>
    {
        keyway_call_begin(
            replies, keyway_proxy_connection(service), path, "org.freedesktop.DBus.Properties", "GetAll",
            keyway_variant_string_tuple(interface), "(a{sv})", callTimeout, watchdog.cancellable)
    }

    /// Waits for a `GetAll` begun with `beginProperties` (bounded by the call's timeout and the watchdog), frees it,
    /// and returns the `a{sv}` (a new reference).
    private func finishProperties(
        _ pending: UnsafeMutablePointer<KeywayPendingCall>, of path: String, _ what: String? = nil
    ) throws(KeywayError) -> OpaquePointer {
        var error: UnsafeMutablePointer<GError>?
        guard let reply = keyway_call_finish(replies, pending, &error), error == nil else {
            throw failure(error, what ?? "Reading the keyring item \(path)")
        }
        providerAnswered = true
        defer { g_variant_unref(reply) }
        return g_variant_get_child_value(reply, 0)
    }

    /// The timeout of one D-Bus call, in milliseconds.
    private var callTimeout: Int32 { Int32(configuration.timeout * 1000) }

    /// Creates an item in `collection`; libsecret encrypts the secret for the transfer session.
    /// Returns the new item's object path.
    @discardableResult
    func createItem(
        in collection: Collection, attributes: [String: String], label: String, secret: String
    ) throws(KeywayError) -> String {
        try openTransferSession()
        let table = Self.table(attributes)
        defer { g_hash_table_unref(table) }
        let value = keyway_value_new(secret, gssize(secret.utf8.count))
        defer { secret_value_unref(UnsafeMutableRawPointer(value)) }
        // CreateItem may show a prompt, so libsecret sends it with no timeout: bounded here by the prompt timeout.
        let item = try mayPrompt("Storing the item in the keyring collection \(collection.name)") { callback, data in
            secret_item_create(
                collection.pointer, nil, table, label, value, SECRET_ITEM_CREATE_NONE, cancellable, callback, data)
        } finish: { result, error in
            secret_item_create_finish(result, &error)
        }
        guard let item else {
            throw KeywayError(.keyringFailure, "Storing the item in the keyring collection \(collection.name) failed.")
        }
        defer { keyway_unref(item) }
        return String(cString: keyway_proxy_path(item))
    }

    /// Stores through the `default` alias when no collection has it yet: the Secret Service then asks (with a
    /// prompt) to create the default collection, as `secret-tool store` does.
    func storeInNewDefaultCollection(attributes: [String: String], label: String, secret: String) throws(KeywayError) {
        try openTransferSession()
        let table = Self.table(attributes)
        defer { g_hash_table_unref(table) }
        let value = keyway_value_new(secret, gssize(secret.utf8.count))
        defer { secret_value_unref(UnsafeMutableRawPointer(value)) }
        let service = self.service
        let stored = try mayPrompt("Creating the default keyring collection") { callback, data in
            secret_service_store(
                service, nil, table, "/org/freedesktop/secrets/aliases/default", label, value, cancellable, callback,
                data)
        } finish: { result, error in
            secret_service_store_finish(service, result, &error)
        }
        if stored == 0 {
            throw KeywayError(.keyringFailure, "Creating the default keyring collection failed.")
        }
    }

    func delete(_ item: Item) throws(KeywayError) {
        try delete(path: item.path)
    }

    func delete(path: String) throws(KeywayError) {
        let service = self.service
        let deleted = try mayPrompt("Deleting the keyring item \(path)") { callback, data in
            secret_service_delete_item_dbus_path(service, path, cancellable, callback, data)
        } finish: { result, error in
            secret_service_delete_item_dbus_path_finish(service, result, &error)
        }
        if deleted == 0 { throw KeywayError(.keyringFailure, "Deleting the keyring item \(path) failed.") }
    }

    /// Runs a libsecret call that may show a prompt (CreateItem, Delete, Unlock, storing through an alias), which its
    /// synchronous form would wait for with no bound: `start` begins it (with the callback and data it is given) on
    /// the session's reply context, `finish` collects it. It is bounded by the prompt timeout, and ended at once when
    /// the provider leaves the bus meanwhile (`.keyringDisconnected`). An abandoned call is cancelled, with the rest
    /// of the session.
    private func mayPrompt<T>(
        _ what: String, start: (GAsyncReadyCallback?, gpointer) -> Void,
        finish: (OpaquePointer?, inout UnsafeMutablePointer<GError>?) -> T
    ) throws(KeywayError) -> T {
        let call = keyway_async_new()!
        let connection = keyway_proxy_connection(service)
        let watch = keyway_async_watch_provider(replies, connection, call)
        // The watchdog waits a little longer than the call's own bound, which is the one that reports.
        watchdog.extend(seconds: configuration.promptTimeout + 1)
        g_main_context_push_thread_default(replies)
        start(keyway_async_callback(), UnsafeMutableRawPointer(call))
        g_main_context_pop_thread_default(replies)
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
            g_cancellable_cancel(cancellable)
            throw disconnected(what)
        default:
            g_cancellable_cancel(cancellable)
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
        defer { g_strfreev(list) }
        let service = self.service
        let count = try mayPrompt("Unlocking \(Self.lowercasedFirst(what))") { callback, data in
            list.withMemoryRebound(to: UnsafePointer<gchar>?.self, capacity: paths.count + 1) {
                secret_service_unlock_dbus_paths(service, $0, cancellable, callback, data)
            }
        } finish: { result, error in
            var unlocked: UnsafeMutablePointer<UnsafeMutablePointer<gchar>?>?
            defer { g_strfreev(unlocked) }
            return secret_service_unlock_dbus_paths_finish(service, result, &unlocked, &error)
        }
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

    /// A description that starts a sentence ("The default keyring collection...") put after a prefix.
    static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first, first.isUppercase, text.dropFirst().first?.isLowercase ?? true else { return text }
        return first.lowercased() + text.dropFirst()
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    /// A NULL-terminated, g_strdup'ed string vector (free with g_strfreev).
    static func strv(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<gchar>?> {
        let size = gsize((strings.count + 1) * MemoryLayout<UnsafeMutablePointer<gchar>?>.stride)
        let result = g_malloc0(size)!.bindMemory(to: UnsafeMutablePointer<gchar>?.self, capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { result[index] = g_strdup(string) }
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

/// A Secret Service item as Keyway uses it: its object path and the properties read once (`GetAll`); no proxy.
struct Item {
    let path: String
    let isLocked: Bool
    let attributes: [String: String]
    let created: Int64
    let modified: Int64

    init(path: String, isLocked: Bool, attributes: [String: String], created: Int64, modified: Int64) {
        self.path = path
        self.isLocked = isLocked
        self.attributes = attributes
        self.created = created
        self.modified = modified
    }

    /// From the `a{sv}` of `org.freedesktop.Secret.Item` properties.
    init(path: String, properties: OpaquePointer) {
        var attributes: [String: String] = [:]
        let table = keyway_properties_attributes(properties, "Attributes")
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
        self.init(
            path: path, isLocked: keyway_properties_bool(properties, "Locked", 0) != 0, attributes: attributes,
            created: Int64(truncatingIfNeeded: keyway_properties_uint64(properties, "Created")),
            modified: Int64(truncatingIfNeeded: keyway_properties_uint64(properties, "Modified")))
    }

    /// The path of the collection holding the item (its path without the last component).
    var collectionPath: String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[..<slash])
    }
}
