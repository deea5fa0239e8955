internal import CLibSecret
import KeywayCore

extension Session {
    /// The collection the `default` alias points to, or nil when there is none.
    func defaultCollection() throws(KeywayError) -> Collection? {
        var error: UnsafeMutablePointer<GError>?
        let collection = keyway_secret_collection_for_alias_sync(
            service, "default", KEYWAY_FLAGS_NONE, watchdog.cancellable, &error)
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
        let path = keyway_secret_service_read_alias_dbus_path_sync(service, "default", watchdog.cancellable, &error)
        defer { keyway_g_free(path) }
        if error != nil { throw failure(error, "Looking up the default keyring collection") }
        providerAnswered = true
        guard let path, String(cString: path) != "/" else { return nil }
        return String(cString: path)
    }

    /// A collection's label and lock state, read in one `GetAll` call.
    func collectionInfo(_ path: String) throws(KeywayError) -> (name: String, isLocked: Bool) {
        let properties = try properties(of: path, "org.freedesktop.Secret.Collection", "Reading the keyring collection")
        defer { keyway_g_variant_unref(properties) }
        let label = keyway_properties_string(properties, "Label").map { pointer -> String in
            defer { keyway_g_free(pointer) }
            return String(cString: pointer)
        }
        return (
            label.map { $0.isEmpty ? path : "'\($0)'" } ?? path, keyway_properties_bool(properties, "Locked", 0) != 0
        )
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
        keyway_g_variant_unref(service)
        let pending = collections.map { beginProperties(of: $0, "org.freedesktop.Secret.Collection") }
        var paths: [String] = []
        var firstError: KeywayError?
        // Every call begun is finished (and freed), even after one failed.
        for (collection, call) in zip(collections, pending) {
            do {
                let properties = try finishProperties(
                    call, of: collection, "Listing the keyring collection \(collection)")
                paths += Self.paths(properties, "Items")
                keyway_g_variant_unref(properties)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return paths
    }

    /// An `ao` property of an `a{sv}`.
    static func paths(_ properties: OpaquePointer, _ name: String) -> [String] {
        let vector = keyway_properties_paths(properties, name)
        defer { keyway_g_strfreev(vector) }
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
        } catch  where error.code == .keyringFailure {
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
        } catch  where error.code == .keyringFailure {
            // Not prefetched (the item may have been replaced since the search: KWallet fails the call then); the
            // caller reads it again, and can tell whether it went.
            secret = nil
        } catch {
            // The GetAll in flight is still awaited and freed.
            if let properties = try? finishProperties(pending, of: path) { keyway_g_variant_unref(properties) }
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
        if keyway_secret_service_ensure_session_sync(service, watchdog.cancellable, &error) == 0 || error != nil {
            throw failure(error, "Opening an encrypted transfer session with the Secret Service")
        }
        providerAnswered = true
        let algorithm = keyway_secret_service_get_session_algorithms(service).map { String(cString: $0) }
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
        let fresh = keyway_secret_service_open_sync(
            keyway_secret_service_get_type(), nil, KEYWAY_FLAGS_NONE, watchdog.cancellable, &error)
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
        } catch  where error.code == .keyringFailure {
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
    func beginSearch(_ attributes: [String: String]) -> OpaquePointer {
        let table = Self.table(attributes)
        defer { keyway_g_hash_table_unref(table) }
        return keyway_call_begin(
            replies, keyway_proxy_connection(service), "/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
            "SearchItems", keyway_search_arguments(table), "(aoao)", Int32(configuration.timeout * 500),
            watchdog.cancellable)
    }

    /// The object paths `SearchItems` returned, unlocked and locked.
    func finishSearch(_ pending: OpaquePointer) throws(KeywayError) -> (
        unlocked: [String], locked: [String], all: [String]
    ) {
        var error: UnsafeMutablePointer<GError>?
        guard let reply = keyway_call_finish(replies, pending, &error), error == nil else {
            if let error, !watchdog.fired, error.pointee.domain == keyway_io_error_domain(),
                error.pointee.code == KEYWAY_G_IO_ERROR_TIMED_OUT
            {
                searchTimedOut = true
                keyway_g_error_free(error)
                throw KeywayError(
                    .keyringTimeout,
                    "Searching the keyring: the Secret Service (\(Self.busName)) did not answer within "
                        + "\(Self.seconds(configuration.timeout / 2)). It may be starting or hung; try again, check the "
                        + "keyring daemon, or set KEYWAY_KEYRING_TIMEOUT for a longer wait.")
            }
            throw failure(error, "Searching the keyring")
        }
        providerAnswered = true
        defer { keyway_g_variant_unref(reply) }
        let unlocked = keyway_reply_paths(reply, 0), locked = keyway_reply_paths(reply, 1)
        defer {
            keyway_g_strfreev(unlocked)
            keyway_g_strfreev(locked)
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
    func items(at paths: [String]) throws(KeywayError) -> [Item] {
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
                    let properties = keyway_g_variant_get_child_value(reply, 0)!
                    keyway_g_variant_unref(reply)
                    items.append(item(at: path, properties))
                } else if Self.isNoSuchObject(error) {
                    keyway_g_error_free(error)
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
        guard let error, let remote = keyway_g_dbus_error_get_remote_error(error) else { return false }
        defer { keyway_g_free(remote) }
        return [
            "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod",
            "org.freedesktop.DBus.Error.UnknownInterface", "org.freedesktop.Secret.Error.NoSuchObject",
        ].contains(String(cString: remote))
    }

    /// How many calls Keyway keeps in flight at once (the bus limits pending replies per connection).
    static let maximumCallsInFlight = 32

    func item(at path: String, _ properties: OpaquePointer) -> Item {
        defer { keyway_g_variant_unref(properties) }
        return Item(path: path, properties: properties)
    }

    /// Fetches the secrets of `items` in one call and returns them in the same order (nil for an item without one).
    func secrets(_ items: [Item]) throws(KeywayError) -> [[UInt8]?] {
        try secrets(atPaths: items.map(\.path))
    }

    /// One `GetSecrets` call; when it fails, or leaves out an item asked for, it is repeated over a fresh transfer
    /// session (`renewTransferSession`), up to twice, before anything is reported: KWallet fails about 1% of reads
    /// that way ("Client public key size is invalid", likely when the random Diffie-Hellman public key libsecret
    /// sends is shorter than 128 bytes once its leading zero bytes are dropped; or no secret at all), and a new
    /// session's new key works. One repeat was not enough over a whole test run of thousands of sessions: two
    /// failures in a row were seen once in four CI runs (2026-12-02); with two repeats, three in a row are needed.
    func secrets(atPaths itemPaths: [String]) throws(KeywayError) -> [[UInt8]?] {
        guard !itemPaths.isEmpty else { return [] }
        for _ in 0..<2 {
            do throws(KeywayError) {
                let read = try fetchSecrets(atPaths: itemPaths)
                if !read.contains(where: { $0 == nil }) { return read }
            } catch  where error.code == .keyringFailure {
                // repeated over a fresh session
            }
            try renewTransferSession()
        }
        return try fetchSecrets(atPaths: itemPaths)
    }

    func fetchSecrets(atPaths itemPaths: [String]) throws(KeywayError) -> [[UInt8]?] {
        try openTransferSession()
        let paths = Self.strv(itemPaths)
        defer { keyway_g_strfreev(paths) }
        var error: UnsafeMutablePointer<GError>?
        let table = paths.withMemoryRebound(to: UnsafePointer<gchar>?.self, capacity: itemPaths.count + 1) {
            keyway_secret_service_get_secrets_for_dbus_paths_sync(service, $0, watchdog.cancellable, &error)
        }
        guard let table, error == nil else {
            if let table { keyway_g_hash_table_unref(table) }
            throw failure(error, "Reading secrets from the keyring")
        }
        defer { keyway_g_hash_table_unref(table) }
        return itemPaths.map { path in
            guard let found = keyway_g_hash_table_lookup(table, path) else { return nil }
            var length: gsize = 0
            guard let bytes = keyway_secret_value_get(OpaquePointer(found), &length) else { return [] }
            return bytes.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                Array(UnsafeBufferPointer(start: $0, count: Int(length)))
            }
        }
    }

    /// `Properties.GetAll(interface)` on a Secret Service object (a new reference to the `a{sv}`).
    func properties(of path: String, _ interface: String, _ what: String) throws(KeywayError) -> OpaquePointer {
        try finishProperties(beginProperties(of: path, interface), of: path, what)
    }

    /// Sends `Properties.GetAll(interface)` (an item's by default) without waiting; finish it (exactly once) with
    /// `finishProperties`.
    func beginProperties(of path: String, _ interface: String = "org.freedesktop.Secret.Item")
        -> OpaquePointer
    {
        keyway_call_begin(
            replies, keyway_proxy_connection(service), path, "org.freedesktop.DBus.Properties", "GetAll",
            keyway_variant_string_tuple(interface), "(a{sv})", callTimeout, watchdog.cancellable)
    }

    /// Waits for a `GetAll` begun with `beginProperties` (bounded by the call's timeout and the watchdog), frees it,
    /// and returns the `a{sv}` (a new reference).
    func finishProperties(
        _ pending: OpaquePointer, of path: String, _ what: String? = nil
    ) throws(KeywayError) -> OpaquePointer {
        var error: UnsafeMutablePointer<GError>?
        guard let reply = keyway_call_finish(replies, pending, &error), error == nil else {
            throw failure(error, what ?? "Reading the keyring item \(path)")
        }
        providerAnswered = true
        defer { keyway_g_variant_unref(reply) }
        return keyway_g_variant_get_child_value(reply, 0)
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
        defer { keyway_g_hash_table_unref(table) }
        let value = keyway_value_new(secret, gssize(secret.utf8.count))
        defer { keyway_secret_value_unref(UnsafeMutableRawPointer(value)) }
        // CreateItem may show a prompt, so libsecret sends it with no timeout: bounded here by the prompt timeout.
        let item = try mayPrompt("Storing the item in the keyring collection \(collection.name)") { callback, data in
            keyway_secret_item_create(
                collection.pointer, nil, table, label, value, KEYWAY_FLAGS_NONE, cancellable, callback, data)
        } finish: { result, error in
            keyway_secret_item_create_finish(result, &error)
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
        defer { keyway_g_hash_table_unref(table) }
        let value = keyway_value_new(secret, gssize(secret.utf8.count))
        defer { keyway_secret_value_unref(UnsafeMutableRawPointer(value)) }
        let service = self.service
        let stored = try mayPrompt("Creating the default keyring collection") { callback, data in
            keyway_secret_service_store(
                service, nil, table, "/org/freedesktop/secrets/aliases/default", label, value, cancellable, callback,
                data)
        } finish: { result, error in
            keyway_secret_service_store_finish(service, result, &error)
        }
        if stored == 0 {
            throw KeywayError(.keyringFailure, "Creating the default keyring collection failed.")
        }
    }

    func delete(_ item: Item) throws(KeywayError) {
        try delete(path: item.path)
    }

    /// Deletes the item at `path`, found just before: one that is gone already (another program, or another
    /// Keyway, deleted it meanwhile) is what was wanted, not an error.
    func delete(path: String) throws(KeywayError) {
        _ = try deleteIfPresent(path: path)
    }

    /// Deletes the item at `path`; false when there is no such item (another program deleted it meanwhile). Any
    /// other failure throws.
    func deleteIfPresent(path: String) throws(KeywayError) -> Bool {
        let service = self.service
        let deleted = try mayPrompt("Deleting the keyring item \(path)") { callback, data in
            keyway_secret_service_delete_item_dbus_path(service, path, cancellable, callback, data)
        } finish: { result, error -> Int32 in
            let deleted = keyway_secret_service_delete_item_dbus_path_finish(service, result, &error)
            if error != nil, Self.meansNoSuchObject(error) {
                keyway_g_error_free(error)
                error = nil
                return -1
            }
            return deleted
        }
        if deleted == -1 { return false }
        if deleted == 0 { throw KeywayError(.keyringFailure, "Deleting the keyring item \(path) failed.") }
        return true
    }

}
