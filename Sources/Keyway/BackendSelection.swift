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
    let variables = ["KEYWAY_VAULT_KEY_FILE", "KEYWAY_VAULT_KEY", "KEYWAY_PASSPHRASE"]
    if variables.contains(where: { options.environment.nonEmpty($0) != nil }) { return true }
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

extension KeywayError {
    /// Whether the error means "this backend cannot be used here at all" (no bus, no Secret Service), as opposed to
    /// a failure of a usable backend (locked, dismissed, timeout, I/O...), which must be reported.
    var meansBackendUnusable: Bool {
        code == .noSessionBus || code == .noSecretService || code == .keyringNoDefaultCollection
    }
}

extension KeywayWarning.Code {
    /// `auto` fell back to the plaintext file for a write.
    public static let unencryptedStorage = Self(rawValue: "unencrypted-storage")
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
            } catch where error.meansBackendUnusable {
                continue
            }
        }
        return nil
    }

    public func list(app: String?) throws(KeywayError) -> [Credential] {
        var found: [CredentialID: Credential] = [:]
        var sources: [any CredentialStore] = []
        for store in candidates {
            let credentials: [Credential]
            do throws(KeywayError) { credentials = try store.list(app: app) } catch where error.meansBackendUnusable {
                continue
            }
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
        for (index, store) in candidates.enumerated() {
            if index == candidates.count - 1, store is PlaintextStore {
                warn?(Self.plaintextWarning(credential.id, path: store.location, because: unusable))
            }
            do throws(KeywayError) {
                try store.write(credential)
                lastUsed.set(store)
                return
            } catch where error.meansBackendUnusable && index < candidates.count - 1 {
                unusable.append("\(store.backendName): \(error.message)")
            }
        }
    }

    /// Removes the credential from every usable backend, so it cannot come back from a later one.
    @discardableResult
    public func delete(_ id: CredentialID) throws(KeywayError) -> Bool {
        var removedFrom: [any CredentialStore] = []
        for store in candidates {
            do throws(KeywayError) {
                if try store.delete(id) { removedFrom.append(store) }
            } catch where error.meansBackendUnusable {
                continue
            }
        }
        lastUsed.set(removedFrom.count == 1 ? removedFrom[0] : nil)
        return !removedFrom.isEmpty
    }

    @discardableResult
    public func deleteAll(app: String) throws(KeywayError) -> [CredentialID] {
        var removed = Set<CredentialID>()
        for store in candidates {
            do throws(KeywayError) {
                removed.formUnion(try store.deleteAll(app: app))
            } catch where error.meansBackendUnusable {
                continue
            }
        }
        return removed.sorted()
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
    /// Whether `auto` writes to the keyring in this state: it answers (a locked keyring still counts: the write asks
    /// for the unlock, or fails saying why, rather than going elsewhere) and has a default collection or can prompt
    /// for one.
    var canStore: Bool {
        switch self {
        case .unreachable, .noDefaultCollection(canPrompt: false): return false
        default: return true
        }
    }
}
