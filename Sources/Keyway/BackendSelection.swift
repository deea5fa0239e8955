import Synchronization

// How `--backend auto` (the default) chooses, and what `keyway backends` reports.
//
// Writes go to the first usable backend of: the keyring (a Secret Service answers on the session bus), the encrypted
// vault (when a key or passphrase is configured for it), the plaintext file; before a write to the plaintext file a
// warning says the key is stored unencrypted and how to avoid it. Reads look in every usable backend, in the same
// order, and return the first credential found. "Usable" for the keyring means reachable: a locked keyring is still
// used (Keyway asks for the unlock, or reports that it cannot), so a locked keyring is never a silent "not found".

// MARK: - The encrypted vault as a candidate

/// The encrypted vault as an `auto` candidate: its store when a key or passphrase is configured for it, else nil.
func encryptedCandidate(_ options: StoreOptions) -> (any CredentialStore)? {
    encryptedIsConfigured(options) ? encryptedStore(options) : nil
}

/// The vault counts as configured when a key or passphrase is given for it, or the vault file exists.
func encryptedIsConfigured(_ options: StoreOptions) -> Bool {
    if VaultUnlock.isConfigured(options.environment) { return true }
    return (try? Sys.lstat(options.paths.vaultFile)) != nil
}

/// Why `encryptedCandidate` returned nil, for `keyway backends`.
func encryptedUnavailableReason(_ options: StoreOptions) -> String {
    "no vault key or passphrase is configured (set KEYWAY_VAULT_KEY_FILE, KEYWAY_VAULT_KEY or KEYWAY_PASSPHRASE) "
        + "and \(options.paths.vaultFile) does not exist (create it with keyway vault init)"
}

// MARK: - Concrete stores

func plaintextStore(_ options: StoreOptions) -> PlaintextStore {
    PlaintextStore(paths: options.paths, strict: options.strict, warn: options.warn)
}

func encryptedStore(_ options: StoreOptions) -> EncryptedStore {
    EncryptedStore(paths: options.paths, unlock: options.vaultUnlock, strict: options.strict, warn: options.warn)
}

func keyringStore(_ options: StoreOptions) -> SecretServiceStore {
    SecretServiceStore(environment: options.environment, warn: options.warn)
}

/// The OpenBao / Vault KV store. `auto` never uses it: it is used when selected (`--backend openbao`,
/// `KEYWAY_BACKEND=openbao`), and is a `migrate` source when configured (`OpenBaoConfiguration.isConfigured`).
func openbaoStore(_ options: StoreOptions) -> OpenBaoStore {
    OpenBaoStore(environment: options.environment, warn: options.warn)
}

extension KeywayError {
    /// Whether the error means "this backend cannot be used here at all" (no bus, no Secret Service, no libsecret), as
    /// opposed to
    /// a failure of a backend that is there (locked, dismissed, a bus or Secret Service that does not answer, I/O,
    /// a damaged vault...), which `auto` reports as an error with that backend's message, never as "not found".
    var meansBackendUnusable: Bool {
        code == .noSessionBus || code == .noSecretService || code == .keyringNoDefaultCollection
            || code == .keyringNoLibrary
    }
}

extension KeywayWarning.Code {
    /// `auto` fell back to the plaintext file for a write.
    public static let unencryptedStorage = Self(rawValue: "unencrypted-storage")
    /// `auto` passed over the keyring although a session bus is named (`DBUS_SESSION_BUS_ADDRESS`, or an existing
    /// `$XDG_RUNTIME_DIR/bus`): it cannot be connected to, or libsecret-1.so.0 cannot be loaded.
    public static let keyringUnreachable = Self(rawValue: "keyring-unreachable")
}

// MARK: - auto

/// The store `--backend auto` opens: the keyring, the encrypted vault when configured, then the plaintext file.
///
/// `backendName` and `location` name the backend that served the last read or write (so messages such as "Stored
/// ... in the keyring store" and a key's source are exact), and "auto" with the whole order before any.
public struct AutoStore: CredentialStore {
    /// The candidates, in order; the last one (the plaintext file) is always usable.
    public let candidates: [any CredentialStore]
    let warn: WarningHandler?
    private let lastUsed = LastUsed()
    private let warnedUnreachable = Flag()

    public init(_ options: StoreOptions) {
        var candidates: [any CredentialStore] = [keyringStore(options)]
        if let encrypted = encryptedCandidate(options) { candidates.append(encrypted) }
        candidates.append(plaintextStore(options))
        self.init(candidates: candidates, warn: options.warn)
    }

    /// For tests and programs that bring their own candidates. The last one must always be usable.
    public init(candidates: [any CredentialStore], warn: WarningHandler?) {
        precondition(!candidates.isEmpty, "auto needs at least one store")
        self.candidates = candidates
        self.warn = warn
    }

    public var backendName: String { lastUsed.get()?.backendName ?? "auto" }

    public var location: String {
        if let store = lastUsed.get() { return store.location }
        return candidates.map { "\($0.backendName) (\($0.location))" }.joined(separator: ", then ")
    }

    /// The plaintext file is always usable, so `auto` is.
    public func availability() -> Availability { .available }

    public func read(_ id: CredentialID) throws(KeywayError) -> Credential? {
        for store in candidates {
            do throws(KeywayError) {
                if let credential = try store.read(id) {
                    lastUsed.set(store)
                    return credential
                }
            } catch  where passesOver(store, error) {
                continue
            }
        }
        return nil
    }

    public func list(app: String?) throws(KeywayError) -> [Credential] {
        var found: [CredentialID: Credential] = [:]
        var sources: [any CredentialStore] = []
        for (store, credentials) in try listEach(app: app) {
            var contributed = false
            for credential in credentials where found[credential.id] == nil {
                found[credential.id] = credential
                contributed = true
            }
            if contributed { sources.append(store) }
        }
        lastUsed.set(sources.count == 1 ? sources[0] : nil)
        return found.values.sorted { $0.id < $1.id }
    }

    public func write(_ credential: Credential) throws(KeywayError) {
        var unusable: [String] = []
        var passedOver: [(store: any CredentialStore, error: KeywayError)] = []
        for (index, store) in candidates.enumerated() {
            let plaintext = index == candidates.count - 1 && store is PlaintextStore
            if plaintext {
                // This warning names every backend passed over, and why.
                warn?(Self.plaintextWarning(credential.id, path: store.location, because: unusable))
            }
            do throws(KeywayError) {
                try store.write(credential)
                lastUsed.set(store)
                if !plaintext { for skipped in passedOver { warnIfUnreachable(skipped.store, skipped.error) } }
                return
            } catch  where error.meansBackendUnusable && index < candidates.count - 1 {
                unusable.append("\(store.backendName): \(error.message)")
                passedOver.append((store, error))
            }
        }
    }

    /// Whether `auto` passes over `store` after `error`: the backend cannot be used here at all (see
    /// `meansBackendUnusable`). A keyring whose session bus is named but cannot be reached is passed over with a
    /// warning, once per `AutoStore`: a desktop session that lost its bus must not look like "no key stored".
    func passesOver(_ store: any CredentialStore, _ error: KeywayError) -> Bool {
        guard error.meansBackendUnusable else { return false }
        warnIfUnreachable(store, error)
        return true
    }

    private func warnIfUnreachable(_ store: any CredentialStore, _ error: KeywayError) {
        // `.noSessionBus` with an address means connecting failed (no such socket, refused); without one, there is
        // simply no session bus here (a server), which is no news. libsecret is loaded only once an address is
        // known, so `.keyringNoLibrary` comes with one: a desktop session missing libsecret-1.so.0.
        guard error.code == .noSessionBus || error.code == .keyringNoLibrary,
            let keyring = store as? SecretServiceStore,
            keyring.configuration.busAddress != nil, warnedUnreachable.setOnce()
        else { return }
        warn?(
            KeywayWarning(
                .keyringUnreachable,
                "The keyring was passed over, and only the other backends were used: \(error.message)"))
    }

    /// Removes the credential from every usable backend, so it cannot come back from a later one, without changing
    /// the copy in use when a backend fails: every backend is read first; one that cannot be read (a wrong
    /// passphrase, a failing keyring, a broken entry) is removed from first, and when that fails nothing else is
    /// touched; then the backends holding a copy, the copy in use last. A failure part-way says which copies went.
    @discardableResult
    public func delete(_ id: CredentialID) throws(KeywayError) -> Bool {
        let removedFrom = try removeEverywhere(
            "\(id)", holds: { store throws(KeywayError) in try store.read(id) != nil },
            remove: { store throws(KeywayError) in try store.delete(id) })
        lastUsed.set(removedFrom.count == 1 ? removedFrom[0] : nil)
        return !removedFrom.isEmpty
    }

    @discardableResult
    public func deleteAll(app: String) throws(KeywayError) -> [CredentialID] {
        var removed = Set<CredentialID>()
        _ = try removeEverywhere(
            "the credentials of \(app)", holds: { store throws(KeywayError) in try !store.list(app: app).isEmpty },
            remove: { store throws(KeywayError) in
                let ids = try store.deleteAll(app: app)
                removed.formUnion(ids)
                return !ids.isEmpty
            })
        return removed.sorted()
    }

    /// The removal behind `delete` and `deleteAll`; returns the stores something was removed from.
    func removeEverywhere(
        _ what: String, holds: (any CredentialStore) throws(KeywayError) -> Bool,
        remove: (any CredentialStore) throws(KeywayError) -> Bool
    ) throws(KeywayError) -> [any CredentialStore] {
        var unreadable: [any CredentialStore] = []
        var holders: [any CredentialStore] = []
        for store in candidates {
            do throws(KeywayError) {
                if try holds(store) { holders.append(store) }
            } catch  where passesOver(store, error) {
                continue
            } catch {
                unreadable.append(store)
            }
        }
        var removedFrom: [any CredentialStore] = []
        for store in unreadable + holders.reversed() {
            do throws(KeywayError) {
                if try remove(store) { removedFrom.append(store) }
            } catch {
                guard !removedFrom.isEmpty else {
                    throw KeywayError(
                        error.code,
                        error.message + " Nothing was removed from any store (auto removes a credential from every "
                            + "backend, and stops before removing any when one fails).", path: error.path)
                }
                let gone = removedFrom.map(\.backendName)
                let left = candidates.filter { store in
                    (unreadable + holders).contains { $0.backendName == store.backendName }
                        && !gone.contains(store.backendName)
                }.map(\.backendName)
                throw KeywayError(
                    error.code,
                    error.message + " Of the copies of \(what), the one in the \(gone.joined(separator: " and ")) "
                        + "store was removed; the \(left.joined(separator: " and ")) store still holds one (auto now "
                        + "reads the \(left.first ?? "") store's).", path: error.path)
            }
        }
        return removedFrom
    }

    static func plaintextWarning(_ id: CredentialID, path: String, because reasons: [String]) -> KeywayWarning {
        let why = reasons.isEmpty ? "" : " (" + reasons.joined(separator: "; ") + ")"
        return KeywayWarning(
            .unencryptedStorage,
            "No keyring is usable here\(why) and no encrypted vault is configured, so the API key for \(id) is "
                + "stored UNENCRYPTED in \(path) (readable by any program running as you). To avoid this, run "
                + "keyway in a session with a Secret Service (gnome-keyring, KeePassXC, KWallet) or configure the "
                + "encrypted vault; to accept the plaintext file and silence this warning, use --backend plaintext "
                + "(or KEYWAY_BACKEND=plaintext).")
    }
}

/// A flag an `AutoStore` and its copies share.
final class Flag: Sendable {
    private let value = Mutex(false)
    /// Sets the flag; true when it was not set before.
    func setOnce() -> Bool {
        value.withLock { was in
            defer { was = true }
            return !was
        }
    }
}

/// The store that served the last operation of an `AutoStore` (shared by its copies).
final class LastUsed: Sendable {
    private let store = Mutex<(any CredentialStore)?>(nil)
    func get() -> (any CredentialStore)? { store.withLock { $0 } }
    func set(_ value: (any CredentialStore)?) { store.withLock { $0 = value } }
}

// MARK: - keyway backends

/// One line of `keyway backends`.
public struct BackendStatus: Sendable, Equatable {
    public let name: BackendName
    public let usable: Bool
    public let location: String
    /// Why it cannot be used (nil when usable).
    public let reason: String?
}

/// Every backend, in `auto`'s order, with whether it can be used now; `auto` writes to the first usable one.
public func backendStatuses(_ options: StoreOptions) -> [BackendStatus] {
    let keyring = keyringStore(options)
    return backendStatuses(options, keyring: (keyring, keyring.state()))
}

private func backendStatuses(
    _ options: StoreOptions, keyring: (store: SecretServiceStore, state: SecretServiceStore.State)
) -> [BackendStatus] {
    var statuses: [BackendStatus] = []
    statuses.append(status(.keyring, keyring.store, keyring.store.availability(keyring.state)))
    if let encrypted = encryptedCandidate(options) {
        statuses.append(status(.encrypted, encrypted))
    } else {
        statuses.append(
            BackendStatus(
                name: .encrypted, usable: false, location: options.paths.vaultFile,
                reason: encryptedUnavailableReason(options)))
    }
    statuses.append(status(.plaintext, plaintextStore(options)))
    // Never auto's target; probed only when an address is set (a bounded request: KEYWAY_OPENBAO_TIMEOUT).
    statuses.append(status(.openbao, openbaoStore(options)))
    return statuses
}

private func status(_ name: BackendName, _ store: any CredentialStore) -> BackendStatus {
    status(name, store, store.availability())
}

private func status(_ name: BackendName, _ store: any CredentialStore, _ availability: Availability) -> BackendStatus {
    switch availability {
    case .available: return BackendStatus(name: name, usable: true, location: store.location, reason: nil)
    case .unavailable(let reason):
        return BackendStatus(name: name, usable: false, location: store.location, reason: reason)
    }
}

/// The backend `auto` writes to now: the keyring when a Secret Service answers (even locked: the write then asks for
/// the unlock, or fails saying why, rather than going elsewhere), else the encrypted vault when configured, else the
/// plaintext file.
public func autoWriteTarget(_ options: StoreOptions) -> BackendName {
    autoWriteTarget(options, keyringUsable: keyringStore(options).state().canStore)
}

private func autoWriteTarget(_ options: StoreOptions, keyringUsable: Bool) -> BackendName {
    if keyringUsable { return .keyring }
    return encryptedCandidate(options) == nil ? .plaintext : .encrypted
}

/// `keyway backends` in one go: every backend's status and `auto`'s write target, with the keyring looked at once
/// (one connection: on a bus that does not answer, one timeout, not two).
public func backendReport(_ options: StoreOptions) -> (statuses: [BackendStatus], autoWritesTo: BackendName) {
    let keyring = keyringStore(options)
    let state = keyring.state()
    let statuses = backendStatuses(options, keyring: (keyring, state))
    return (statuses, autoWriteTarget(options, keyringUsable: state.canStore))
}

extension SecretServiceStore.State {
    /// Whether `auto` writes to the keyring in this state: it is there (a locked keyring, or one that fails, still
    /// counts: the write asks for the unlock, or fails saying why, rather than going elsewhere) and has a default
    /// collection or can prompt for one.
    var canStore: Bool {
        switch self {
        // A keyring that is there but fails (does not answer, I/O...) is still auto's choice: the write reports
        // that backend's error instead of going elsewhere.
        case .unreachable(let error): return !error.meansBackendUnusable
        case .noDefaultCollection(canPrompt: false): return false
        default: return true
        }
    }
}

// MARK: - Every stored copy (list, status)

/// One stored copy of a credential, in one backend.
public struct StoredCopy: Sendable {
    public let credential: Credential
    /// The backend's name (`keyring`, `encrypted`, `plaintext`) and where it stores.
    public let backend: String
    public let location: String
    /// Whether a read through the store the options select returns this copy.
    public let inUse: Bool
}

extension AutoStore {
    /// What each candidate holds (of `app`), in `auto`'s order, skipping the backends that cannot be used here as
    /// `list` does; the first candidate holding a credential is the one `read` returns.
    public func listEach(app: String?) throws(KeywayError) -> [(store: any CredentialStore, credentials: [Credential])]
    {
        var result: [(store: any CredentialStore, credentials: [Credential])] = []
        for store in candidates {
            do throws(KeywayError) {
                result.append((store, try store.list(app: app)))
            } catch  where passesOver(store, error) {
                continue
            }
        }
        return result
    }
}

/// The stores readable without asking anything, in `auto`'s order: the plaintext file when it exists, the encrypted
/// vault when it exists and a key or passphrase is configured in the environment (never the passphrase prompt), the
/// keyring when a Secret Service answers and its default collection is unlocked; with why the others were skipped
/// (a backend that is simply absent is not mentioned).
func unattendedStores(_ options: StoreOptions) -> (
    stores: [(name: BackendName, store: any CredentialStore)], skipped: [(name: BackendName, reason: String)],
    failed: [(name: BackendName, error: KeywayError)]
) {
    var stores: [(name: BackendName, store: any CredentialStore)] = []
    var skipped: [(name: BackendName, reason: String)] = []
    var failed: [(name: BackendName, error: KeywayError)] = []
    let keyring = keyringStore(options)
    switch keyring.state() {
    case .ready, .noDefaultCollection: stores.append((.keyring, keyring))
    case .locked(let collection, _): skipped.append((.keyring, "its collection \(collection) is locked"))
    case .unreachable(let error) where error.meansBackendUnusable: break
    case .unreachable(let error): failed.append((.keyring, error))
    }
    if (try? Sys.lstat(options.paths.vaultFile)) != nil {
        if VaultUnlock.isConfigured(options.environment) {
            var unattended = options
            unattended.vaultUnlock = VaultUnlock(environment: options.environment, prompt: nil)
            stores.append((.encrypted, encryptedStore(unattended)))
        } else {
            skipped.append(
                (.encrypted, "no KEYWAY_VAULT_KEY_FILE, KEYWAY_VAULT_KEY or KEYWAY_PASSPHRASE is set"))
        }
    }
    if (try? Sys.lstat(options.paths.credentialsFile)) != nil { stores.append((.plaintext, plaintextStore(options))) }
    return (stores, skipped, failed)
}

/// The store `keyway get` without `--backend` reads (`KEYWAY_BACKEND`, else `auto`), as far as it can be read
/// without asking anything, for telling whether a key just stored or removed through `selected` (the store `options`
/// select) is the one in use. It is `selected` when both are the same backend; for `auto`, the backends in auto's
/// order, `selected` in its place and the others when readable unattended (see `unattendedStores`); for another
/// concrete backend, that backend when readable unattended; else nil (it cannot be told without asking).
public func defaultReadStore(_ options: StoreOptions, selected: any CredentialStore) -> (any CredentialStore)? {
    let name =
        options.environment.nonEmpty("KEYWAY_BACKEND").flatMap { BackendName(rawValue: $0.lowercased()) } ?? .auto
    if name == options.backend { return selected }
    let readable = unattendedStores(options).stores
    if name != .auto { return readable.first { $0.name == name }?.store }
    var candidates: [any CredentialStore] = []
    for backend in [BackendName.keyring, .encrypted, .plaintext] {
        if backend == options.backend {
            candidates.append(selected)
        } else if let store = readable.first(where: { $0.name == backend })?.store {
            candidates.append(store)
        }
    }
    return candidates.isEmpty ? nil : AutoStore(candidates: candidates, warn: nil)
}

/// Every stored copy of the credentials (of `app`), sorted by credential, the copy in use first.
///
/// With `auto`, every backend `auto` reads, in its order; the copy in use is the first one (what a read returns),
/// the others are shadowed. With one backend selected, its credentials (in use), then the copies the other backends
/// hold that can be read without asking anything (see `unattendedStores`), none of them in use. A failure of the
/// selected store is thrown; a failure of another backend, or one skipped because it would have to ask, is a note.
public func storedCopies(_ options: StoreOptions, app: String?) throws(KeywayError)
    -> (copies: [StoredCopy], notes: [String])
{
    var copies: [StoredCopy] = []
    var notes: [String] = []
    var seen = Set<CredentialID>()
    func add(_ store: any CredentialStore, _ credentials: [Credential], selected: Bool) {
        for credential in credentials {
            let first = seen.insert(credential.id).inserted
            copies.append(
                StoredCopy(
                    credential: credential, backend: store.backendName, location: store.location,
                    inUse: selected && first))
        }
    }
    if options.backend == .auto {
        for (store, credentials) in try AutoStore(options).listEach(app: app) {
            add(store, credentials, selected: true)
        }
    } else {
        let selected = try openStore(options)
        add(selected, try selected.list(app: app), selected: true)
        let others = unattendedStores(options)
        for (name, store) in others.stores where name != options.backend {
            do throws(KeywayError) { add(store, try store.list(app: app), selected: false) } catch {
                notes.append("Cannot list the \(name) store's copies: \(error.message)")
            }
        }
        for (name, error) in others.failed where name != options.backend {
            notes.append("Cannot list the \(name) store's copies: \(error.message)")
        }
        for (name, reason) in others.skipped where name != options.backend {
            notes.append("The \(name) store was not listed: \(reason) (only the \(options.backend) store is in use).")
        }
    }
    // By credential, the copy in use first, then in the order the backends were read.
    copies = copies.enumerated().sorted { a, b in
        if a.element.credential.id != b.element.credential.id {
            return a.element.credential.id < b.element.credential.id
        }
        if a.element.inUse != b.element.inUse { return a.element.inUse }
        return a.offset < b.offset
    }.map(\.element)
    return (copies, notes)
}
