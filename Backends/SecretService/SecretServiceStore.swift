import KeywayCore

/// Stores credentials as items of the freedesktop Secret Service (gnome-keyring, KeePassXC, KWallet), through
/// libsecret, in the collection the `default` alias names (gnome-keyring's "Login" keyring).
///
/// Items use the `service` (app) and `username` (profile) attributes of python `keyring` and Go's `go-keyring`, so
/// they are shared both ways with those tools and `secret-tool`; see `ItemFormat` and README.md's keyring section.
/// Every operation is one `Session`, bounded by a timeout, over this process's session bus connection (GLib's shared
/// one, which libsecret always uses): the environment given must name that same bus. When it names another, a
/// private connection to it is opened only to diagnose it, and the operation fails saying the keyring backend can
/// use only the process's own bus. Each failure state (no bus, no provider, locked, prompt dismissed, timeout) has
/// its own error code.
public struct SecretServiceStore: CredentialStore {
    public let configuration: SecretServiceConfiguration
    public let warn: WarningHandler?

    public var backendName: String { "keyring" }
    public var location: String { "Secret Service (org.freedesktop.secrets), default collection" }

    public init(environment: Environment, warn: WarningHandler? = nil) {
        self.init(configuration: SecretServiceConfiguration(environment: environment), warn: warn)
    }

    public init(configuration: SecretServiceConfiguration, warn: WarningHandler? = nil) {
        self.configuration = configuration
        self.warn = warn
    }

    // MARK: State

    /// What the Secret Service looks like from here.
    public enum State: Sendable, Equatable {
        /// Reachable, and the default collection (when there is one) is unlocked.
        case ready
        /// Reachable, but the default collection is locked; `canPrompt` says whether Keyway can ask for the unlock.
        case locked(collection: String, canPrompt: Bool)
        /// Reachable, but no collection is the default (a fresh gnome-keyring without a login keyring): nowhere to
        /// store. With a prompt the Secret Service can be asked to create one (`canPrompt`).
        case noDefaultCollection(canPrompt: Bool)
        /// Not reachable: no bus, no provider, or no answer; the error says which.
        case unreachable(KeywayError)
    }

    /// Connects and looks at the default collection, without unlocking anything.
    public func state() -> State {
        do throws(KeywayError) {
            return try withSession { session throws(KeywayError) -> State in
                guard let path = try session.defaultCollectionPath() else {
                    return .noDefaultCollection(canPrompt: configuration.canPrompt)
                }
                let collection = try session.collectionInfo(path)
                guard collection.isLocked else { return .ready }
                return .locked(collection: collection.name, canPrompt: configuration.canPrompt)
            }
        } catch {
            return .unreachable(error)
        }
    }

    /// Usable when a Secret Service answers and its default collection is unlocked or can be unlocked with a prompt.
    public func availability() -> Availability { availability(state()) }

    /// The availability a state (from `state()`) means.
    public func availability(_ state: State) -> Availability {
        switch state {
        case .ready, .locked(_, canPrompt: true), .noDefaultCollection(canPrompt: true):
            return .available
        case .noDefaultCollection(canPrompt: false):
            return .unavailable(reason: Self.noDefaultCollectionReason)
        case .locked(let collection, canPrompt: false):
            return .unavailable(
                reason: "the default collection \(collection) is locked and no unlock prompt can be shown here "
                    + "(no DISPLAY or WAYLAND_DISPLAY); unlock it in your desktop session")
        case .unreachable(let error):
            return .unavailable(reason: error.message)
        }
    }

    static let noDefaultCollectionReason =
        "the Secret Service has no default collection (no keyring is set as the default, e.g. a gnome-keyring "
        + "without a login keyring), so there is nowhere to store keys, and no prompt can be shown here to create one "
        + "(neither DISPLAY nor WAYLAND_DISPLAY is set). Create a keyring and make it the default (Seahorse: a new "
        + "password keyring, then 'Set as default'; KeePassXC: expose a database group to the Secret Service; "
        + "KWallet: create the kdewallet wallet), or use --backend encrypted or --backend plaintext"

    static var noDefaultCollection: KeywayError {
        KeywayError(.keyringNoDefaultCollection, "No usable keyring: " + noDefaultCollectionReason + ".")
    }

    // MARK: CredentialStore

    /// The lookup comes first (one search, which also returns the items of locked collections on providers such as
    /// gnome-keyring; when it finds a single unlocked item, its secret is read together with its properties); the
    /// default collection is looked at only when it matters: on a miss (a locked collection may hide its items: then
    /// it is unlocked, or the error says why it cannot be, and the search repeated) and to rank several matches.
    ///
    /// Another program (or another Keyway) rewriting the credential meanwhile creates its new item, then deletes the
    /// old one: a read that found the old item can then fail on it (KWallet answers the secrets call with "Can't find
    /// item at path"). When a read fails and an item it found is gone, it is done again (three tries in all), and
    /// finds the new item.
    public func read(_ id: CredentialID) throws(KeywayError) -> Credential? {
        var attempt = 1
        while true {
            var seen: Set<String> = []
            do throws(KeywayError) {
                return try readOnce(id, seen: &seen)
            } catch  where error.code == .keyringFailure && attempt < 3 {
                // Done again only when the items are not those it found (or it failed before knowing them).
                let present = try withSession { session throws(KeywayError) -> Set<String> in
                    Set(try session.search(ItemFormat.lookup(id)).map(\.path))
                }
                guard seen.isEmpty || !seen.isSubset(of: present) else { throw error }
                attempt += 1
            }
        }
    }

    /// One read, in one session; `seen` gets the paths of the items its search found.
    private func readOnce(_ id: CredentialID, seen: inout Set<String>) throws(KeywayError) -> Credential? {
        try withSession { session throws(KeywayError) -> Credential? in
            let found = try searching(session) { () throws(KeywayError) in try session.searchOne(ItemFormat.lookup(id))
            }
            seen = Set(found.items.map(\.path))
            var items = found.items.filter { ItemFormat.id($0) == id }
            if items.isEmpty {
                let defaultCollection = try unlockDefaultCollection(session)
                if defaultCollection.path == nil, !configuration.canPrompt { throw Self.noDefaultCollection }
                guard defaultCollection.wasLocked else { return nil }
                items = try session.search(ItemFormat.lookup(id)).filter { ItemFormat.id($0) == id }
            }
            let defaultPath = items.count > 1 ? try session.defaultCollectionPath() : nil
            guard let best = ItemFormat.preferred(items, defaultCollection: defaultPath).first else { return nil }
            if items.count > 1 { warn?(ItemFormat.duplicates(items, id: id, used: best)) }
            if let secret = found.secret, secret.path == best.path, !best.isLocked {
                return try ItemFormat.credential(best, id: id, secret: secret.bytes, warn: warn)
            }
            try unlockItems([best], of: id.description, session)
            return try credentials([(id, best)], session).first
        }
    }

    public func list(app: String?) throws(KeywayError) -> [Credential] {
        try withSession { session throws(KeywayError) -> [Credential] in
            let defaultPath = try unlockDefaultCollection(session).path
            let items = try session.search(app.map { [ItemFormat.service: $0] } ?? [:])
            if defaultPath == nil, items.isEmpty, !configuration.canPrompt { throw Self.noDefaultCollection }
            var byID: [CredentialID: [Item]] = [:]
            for item in items {
                guard let id = ItemFormat.id(item), app == nil || id.app == app else { continue }
                byID[id, default: []].append(item)
            }
            let chosen = byID.keys.sorted().map { id in
                (id, ItemFormat.preferred(byID[id]!, defaultCollection: defaultPath)[0])
            }
            try unlockItems(chosen.map(\.1), of: app.map { "credentials of \($0)" } ?? "credentials", session)
            // Listing everything: an item another tool wrote that holds no usable key does not hide the others.
            return try credentials(chosen, session, skippingRemoved: true, skippingUnusable: app == nil)
        }
    }

    public func write(_ credential: Credential) throws(KeywayError) {
        try credential.validate()
        try withSession { session throws(KeywayError) in
            let attributes = ItemFormat.attributes(credential)
            let label = ItemFormat.label(credential.id)
            let secret = credential.secret.reveal()
            guard let collection = try openDefaultCollection(session) else {
                guard configuration.canPrompt else { throw Self.noDefaultCollection }
                try session.storeInNewDefaultCollection(attributes: attributes, label: label, secret: secret)
                return
            }
            // Create the new item first, then remove the ones it replaces: at every moment one copy exists.
            let previous = try searching(session) { () throws(KeywayError) in
                try session.search(ItemFormat.lookup(credential.id))
            }.filter {
                $0.collectionPath == collection.path && ItemFormat.id($0) == credential.id
            }
            let previousPaths = Set(previous.map(\.path))
            // Nothing is deleted, and no success reported, before the new item is read back and holds the key: KWallet
            // can store an empty secret when it fails to decrypt one (its session-key bug, KDE 514194), and fails a
            // CreateItem outright now and then ("Can't find session ..."). A copy that does not hold the key is
            // removed, and the write repeated over a fresh transfer session, up to twice (as reads are): one repeat
            // was not enough, two failures in a row were seen in CI on KWallet (2026-12-02, a CreateItem failing
            // with "Can't find session" both times).
            let created = try createIntact(
                credential.id, in: collection, attributes: attributes, label: label, secret: secret, session,
                keeping: previousPaths, hadPrevious: !previous.isEmpty)
            for item in previous where item.path != created { try session.delete(item) }
        }
    }

    /// How many times a write is tried: the first, then twice over a fresh transfer session.
    static let writeAttempts = 3

    /// Creates the item and reads it back (see `write`); returns its path once it holds `secret`. Copies that do not
    /// are deleted (never one of `keeping`, the items the write replaces), so a failure leaves the store as it was.
    private func createIntact(
        _ id: CredentialID, in collection: Collection, attributes: [String: String], label: String,
        secret: String, _ session: Session, keeping: Set<String>, hadPrevious: Bool
    ) throws(KeywayError) -> String {
        var target = collection
        var badCopies = 0
        var failures: [KeywayError] = []
        for attempt in 1...Self.writeAttempts {
            if attempt > 1 {
                try session.renewTransferSession()
                guard let again = try session.defaultCollection() else {
                    throw KeywayError(.keyringFailure, "The default keyring collection went away during the write.")
                }
                target = again
            }
            var created: String?
            do throws(KeywayError) {
                let path = try session.createItem(in: target, attributes: attributes, label: label, secret: secret)
                created = path
                if try session.holds(path, secret) { return path }
                badCopies += 1
                removeBadCopy(path, of: id, session, keeping: keeping)
            } catch  where error.code == .keyringFailure {
                failures.append(error)
            } catch {
                // Anything else (a timeout, a provider gone, a lock) ends the write; a copy made before it is not
                // left beside the items it was to replace.
                if let created { removeBadCopy(created, of: id, session, keeping: keeping) }
                throw error
            }
        }
        func times(_ count: Int) -> String { count == 1 ? "once" : count == 2 ? "twice" : "\(count) times" }
        var what: [String] = []
        if badCopies > 0 {
            what.append(
                "read back, the new keyring item held a different secret \(times(badCopies)) ("
                    + (badCopies == 1 ? "it was" : "each was") + " removed)")
        }
        if let last = failures.last { what.append("the write failed \(times(failures.count)) (last: \(last.message))") }
        throw KeywayError(
            .keyringFailure,
            "The Secret Service did not store the API key for \(id) intact in \(Self.writeAttempts) tries, each repeat "
                + "over a fresh transfer session: " + what.joined(separator: "; ") + ". "
                + (hadPrevious ? "The previous key was kept. " : "Nothing was stored. ")
                + "Try again, or use --backend encrypted. (KWallet's session-key bug, KDE 514194, can do this.)")
    }

    /// Deletes the item at `path`, a copy a write made that does not hold the key, unless it is one of `keeping`
    /// (the items the write replaces); when it cannot be deleted, a warning names it.
    private func removeBadCopy(_ path: String, of id: CredentialID, _ session: Session, keeping: Set<String>) {
        guard !keeping.contains(path) else { return }
        do throws(KeywayError) {
            try session.delete(path: path)
        } catch {
            warn?(
                KeywayWarning(
                    .keyringBadCopyLeft,
                    "A keyring item the write of \(id) made does not hold the key and could not be removed "
                        + "(\(error.message)): \(path). `\(id.command("login"))` again replaces it, as it replaces "
                        + "every item of the credential."))
        }
    }

    @discardableResult
    public func delete(_ id: CredentialID) throws(KeywayError) -> Bool {
        try withSession { session throws(KeywayError) -> Bool in
            try unlockDefaultCollection(session)
            let items = try searching(session) { () throws(KeywayError) in try session.search(ItemFormat.lookup(id)) }
                .filter { ItemFormat.id($0) == id }
            try unlockItems(items, of: id.description, session)
            for item in items { try session.delete(item) }
            return !items.isEmpty
        }
    }

    @discardableResult
    public func deleteAll(app: String) throws(KeywayError) -> [CredentialID] {
        try withSession { session throws(KeywayError) -> [CredentialID] in
            try unlockDefaultCollection(session)
            let items = try session.search([ItemFormat.service: app]).filter { ItemFormat.id($0)?.app == app }
            try unlockItems(items, of: "credentials of \(app)", session)
            var removed = Set<CredentialID>()
            for item in items {
                try session.delete(item)
                if let id = ItemFormat.id(item) { removed.insert(id) }
            }
            return removed.sorted()
        }
    }

    // MARK: Helpers

    /// Runs a search; when the Secret Service holds it back (`Session.searchTimedOut`) and the default collection
    /// is locked, that is why: KeePassXC, with its default "Unlock database before searching", answers a search on a
    /// locked database only once it is unlocked, and shows its own unlock dialog meanwhile. Then the unlock is asked
    /// for (with the prompt timeout to answer it) and the search repeated, or, with no prompt possible here, the
    /// error says the database is locked; otherwise the timeout is reported.
    func searching<T>(_ session: Session, _ search: () throws(KeywayError) -> T) throws(KeywayError) -> T {
        do throws(KeywayError) {
            return try search()
        } catch  where session.searchTimedOut {
            session.searchTimedOut = false
            guard let path = try session.defaultCollectionPath() else { throw error }
            let collection = try session.collectionInfo(path)
            guard collection.isLocked else { throw error }
            guard configuration.canPrompt else {
                throw KeywayError(
                    .keyringLocked,
                    "The default keyring collection \(collection.name) is locked, and the Secret Service holds "
                        + "searches back until it is unlocked (KeePassXC does so with its default setting 'Unlock "
                        + "database before searching', and shows its own unlock dialog meanwhile). No unlock prompt "
                        + "can be shown from here (neither DISPLAY nor WAYLAND_DISPLAY is set): unlock the database "
                        + "in KeePassXC (or the keyring in your desktop session), then try again; on a server use "
                        + "--backend encrypted or --backend plaintext.")
            }
            try session.unlock([path], describing: "The default keyring collection \(collection.name)")
            return try search()
        }
    }

    func withSession<T>(_ body: (Session) throws(KeywayError) -> T) throws(KeywayError) -> T {
        let session = try Session(configuration)
        defer { session.close() }
        do throws(KeywayError) {
            return try body(session)
        } catch let error where error.code == .noSecretService && !session.providerAnswered {
            // A call found nothing providing the Secret Service: the bus says whether anything could be started.
            try session.checkProvider()
            throw error
        }
    }

    /// The default collection (a proxy, to create items in), unlocked (with a prompt where one can be shown). A
    /// locked collection does not make libsecret fail: its items are simply not returned.
    private func openDefaultCollection(_ session: Session) throws(KeywayError) -> Collection? {
        guard let collection = try session.defaultCollection() else { return nil }
        if collection.isLocked {
            try session.unlock([collection.path], describing: "The default keyring collection \(collection.name)")
        }
        return collection
    }

    /// Unlocks the default collection when it is locked (with a prompt where one can be shown, else the error says
    /// why it cannot be), by path: `ReadAlias` and one `GetAll`, no proxy. Returns its path (nil when there is no
    /// default collection) and whether it was locked.
    @discardableResult
    func unlockDefaultCollection(_ session: Session) throws(KeywayError) -> (path: String?, wasLocked: Bool) {
        guard let path = try session.defaultCollectionPath() else { return (nil, false) }
        let collection = try session.collectionInfo(path)
        guard collection.isLocked else { return (path, false) }
        try session.unlock([path], describing: "The default keyring collection \(collection.name)")
        return (path, true)
    }

    /// Unlocks the items among `items` that are locked (they live in another, locked collection).
    func unlockItems(_ items: [Item], of what: String, _ session: Session) throws(KeywayError) {
        let locked = items.filter(\.isLocked)
        guard !locked.isEmpty else { return }
        if !configuration.canPrompt {
            // Locked items in collections that are not locked: the provider asks to confirm each program's access
            // to a secret (KeePassXC's "Confirm when passwords are retrieved by clients"), not for an unlock.
            var anyCollectionLocked = false
            for path in Set(locked.map(\.collectionPath)) where try session.collectionInfo(path).isLocked {
                anyCollectionLocked = true
            }
            if !anyCollectionLocked {
                throw KeywayError(
                    .keyringLocked,
                    "The Secret Service asks to confirm access to the \(what): its keyring collection is unlocked "
                        + "but the items are locked for this program, which is what KeePassXC does with 'Confirm when "
                        + "passwords are retrieved by clients' (keepassxc.ini: [FdoSecrets] ConfirmAccessItem). No "
                        + "confirmation dialog can be answered from here (neither DISPLAY nor WAYLAND_DISPLAY is set): "
                        + "allow the access in KeePassXC from your desktop session, or turn that setting off in "
                        + "KeePassXC (Settings, Secret Service Integration), then try again.")
            }
        }
        let collections = Set(locked.map(\.collectionPath)).sorted().joined(separator: ", ")
        try session.unlock(
            locked.map(\.path),
            describing: "The keyring collection holding the \(what) (\(collections))")
    }

    /// The credentials of the items chosen, their secrets read in one call. `skippingRemoved` (a listing): an item
    /// whose secret the Secret Service no longer returns (removed, or locked, by another program since the listing
    /// found it) is left out with a warning instead of failing the whole listing. `skippingUnusable` (a listing of
    /// every app): an item whose secret is no usable key (not UTF-8, breaking `APIKeyRules`) is left out with a
    /// warning saying why; reading that credential (or listing its app) still fails with that error.
    private func credentials(
        _ chosen: [(CredentialID, Item)], _ session: Session, skippingRemoved: Bool = false,
        skippingUnusable: Bool = false
    ) throws(KeywayError) -> [Credential] {
        var chosen = chosen
        var secrets: [[UInt8]?]
        do throws(KeywayError) {
            secrets = try session.secrets(chosen.map(\.1))
        } catch  where skippingRemoved && error.code == .keyringFailure {
            // KWallet fails the whole GetSecrets when one item was removed meanwhile ("Can't find item at path"):
            // read again, in one call, the secrets of the items that are still there.
            func leaveOut(_ id: CredentialID, _ item: Item) {
                warn?(
                    KeywayWarning(
                        .keyringItemVanished,
                        "The keyring item of \(id) (\(item.path)) was removed while it was being listed; it is left "
                            + "out."))
            }
            let present = try session.existing(chosen.map(\.1.path))
            for (id, item) in chosen where !present.contains(item.path) { leaveOut(id, item) }
            chosen = chosen.filter { present.contains($0.1.path) }
            do throws(KeywayError) {
                secrets = try session.secrets(chosen.map(\.1))
            } catch  where error.code == .keyringFailure {
                // Other programs went on removing items meanwhile (a second call failed that way in CI,
                // 2026-12-02): each item's secret is read on its own. An item whose read fails and that no longer
                // exists is left out; one that is still there fails the listing with its error.
                var kept: [(CredentialID, Item)] = []
                secrets = []
                for (id, item) in chosen {
                    do throws(KeywayError) {
                        let read = try session.secrets([item])
                        kept.append((id, item))
                        secrets.append(read.first ?? nil)
                    } catch  where error.code == .keyringFailure {
                        guard try session.existing([item.path]).isEmpty else { throw error }
                        leaveOut(id, item)
                    }
                }
                chosen = kept
            }
        }
        var result: [Credential] = []
        for ((id, item), secret) in zip(chosen, secrets) {
            if secret == nil, skippingRemoved {
                warn?(
                    KeywayWarning(
                        .keyringItemVanished,
                        "The keyring item of \(id) (\(item.path)) was removed or locked while it was being listed; "
                            + "it is left out."))
                continue
            }
            guard let secret else {
                throw KeywayError(
                    .keyringFailure,
                    "The Secret Service returned no secret for the keyring item of \(id) (\(item.path)), twice (the "
                        + "second time over a fresh transfer session): the item was locked or removed meanwhile, or "
                        + "the provider failed to send it. Try again.")
            }
            do throws(KeywayError) {
                result.append(try ItemFormat.credential(item, id: id, secret: secret, warn: warn))
            } catch  where skippingUnusable {
                warn?(KeywayWarning(.keyringItemUnusable, "Left out of the listing: \(error.message)"))
            }
        }
        return result
    }
}
