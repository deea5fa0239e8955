import KeywayCore
import Synchronization

/// Stores every credential in one encrypted vault file: the `CredentialDocument` JSON sealed with XChaCha20-Poly1305
/// under a raw 32-byte key or an Argon2id-stretched passphrase (format in VaultFormat.swift and SECURITY.md).
///
/// The file is read and written through `ProtectedFile`, so it has the plaintext backend's rules: 0600 file, 0700
/// directories, ownership and symlink checks, an exclusive lock around read-modify-write, atomic replacement. Writing
/// to a vault that does not exist yet creates it with the method of the first unlock source found.
public struct EncryptedStore: CredentialDocumentStore {
    package let file: ProtectedFile
    public let unlock: VaultUnlock
    /// The Argon2id cost of a passphrase vault this store creates (`create`, a first write, `rekey`).
    public let newVaultCost: Argon2Cost
    private let cache = KeyCache()

    public var backendName: String { "encrypted" }
    public var location: String { file.path }

    public init(
        path: String, unlock: VaultUnlock, newVaultCost: Argon2Cost = .moderate, strict: Bool = false,
        warn: WarningHandler? = nil
    ) {
        file = ProtectedFile(path: path, strict: strict, warn: warn, sizeLimit: ProtectedFile.storeSizeLimit)
        self.unlock = unlock
        self.newVaultCost = newVaultCost
    }

    public init(
        paths: KeywayPaths, unlock: VaultUnlock, newVaultCost: Argon2Cost = .moderate, strict: Bool = false,
        warn: WarningHandler? = nil
    ) {
        self.init(path: paths.vaultFile, unlock: unlock, newVaultCost: newVaultCost, strict: strict, warn: warn)
    }

    /// Available when a key or passphrase is supplied, a key supplied is usable, and an existing vault's header is
    /// readable and matches the method supplied. Nothing is decrypted and no passphrase is asked for.
    public func availability() -> Availability {
        do throws(KeywayError) {
            let source = try unlock.source()
            if let bytes = try file.read() {
                let header = try VaultHeader(parsing: bytes, source: file.path)
                _ = try unlock.source(for: header.method, vault: file.path)
            }
            if source.method == .rawKey { _ = try VaultUnlock.rawKey(source) }
            return .available
        } catch {
            return .unavailable(reason: error.message)
        }
    }

    // MARK: - Documents

    public func loadDocument() throws(KeywayError) -> CredentialDocument {
        guard let bytes = try file.read() else { return CredentialDocument() }
        return try open(bytes).document
    }

    @discardableResult
    public func modifyDocument(
        _ change: (inout CredentialDocument) throws(KeywayError) -> Bool
    ) throws(KeywayError) -> Bool {
        try file.update { bytes throws(KeywayError) in
            var document = CredentialDocument()
            let keys: VaultKeys
            if let bytes {
                (document, keys) = try open(bytes)
            } else {
                keys = try newKeys(from: try unlock.source())
            }
            guard try change(&document) else { return (nil, false) }
            return (try seal(document, keys: keys), true)
        }
    }

    public func loadCredential(_ id: CredentialID) throws(KeywayError) -> Credential? {
        guard let bytes = try file.read() else { return nil }
        let header = try VaultHeader(parsing: bytes, source: file.path)
        let payload = try VaultCodec.open(bytes, header: header, keys: try keys(for: header), source: file.path)
        return try Sodium.withExposedBytes(payload) { plaintext throws(KeywayError) in
            try CredentialDocument.credential(id, parsing: plaintext, source: file.path)
        }
    }

    /// Decrypts and parses a whole vault file.
    func open(_ bytes: [UInt8]) throws(KeywayError) -> (document: CredentialDocument, keys: VaultKeys) {
        let header = try VaultHeader(parsing: bytes, source: file.path)
        let keys = try keys(for: header)
        return (try Self.decode(bytes, header: header, keys: keys, source: file.path), keys)
    }

    static func decode(
        _ bytes: [UInt8], header: VaultHeader, keys: VaultKeys, source: String
    ) throws(KeywayError) -> CredentialDocument {
        let payload = try VaultCodec.open(bytes, header: header, keys: keys, source: source)
        return try Sodium.withExposedBytes(payload) { plaintext throws(KeywayError) in
            try CredentialDocument(parsing: plaintext, source: source)
        }
    }

    /// The keys for an existing vault's header: from the cache when this store already derived them for the same
    /// parameters, else from the unlock source (which must be of the vault's method).
    func keys(for header: VaultHeader) throws(KeywayError) -> VaultKeys {
        if let cached = cache.keys(matching: header) { return cached }
        let source = try unlock.source(for: header.method, vault: file.path)
        try CoreDumps.disable()
        let master = try VaultUnlock.masterKey(
            source, cost: header.cost, salt: header.salt, vault: file.path, confirm: false)
        let keys = try Self.keys(master: master, method: header.method, cost: header.cost, salt: header.salt)
        cache.store(keys)
        return keys
    }

    /// Keys for a new vault from `source`: a passphrase gets a fresh salt and `cost` (by default `newVaultCost`) and
    /// is asked twice at a prompt.
    func newKeys(from source: VaultUnlock.Source, cost passphraseCost: Argon2Cost? = nil) throws(KeywayError)
        -> VaultKeys
    {
        try CoreDumps.disable()
        let cost = source.method == .passphrase ? passphraseCost ?? newVaultCost : nil
        let salt = cost == nil ? [UInt8](repeating: 0, count: Sodium.saltBytes) : try Self.random(Sodium.saltBytes)
        let master = try VaultUnlock.masterKey(source, cost: cost, salt: salt, vault: file.path, confirm: true)
        let keys = try Self.keys(master: master, method: source.method, cost: cost, salt: salt)
        cache.store(keys)
        return keys
    }

    static func keys(master: SecureBytes, method: VaultMethod, cost: Argon2Cost?, salt: [UInt8]) throws(KeywayError)
        -> VaultKeys
    {
        do throws(SodiumFailure) { return try VaultKeys(master: master, method: method, cost: cost, salt: salt) } catch
        {
            throw KeywayError(.io, "Cannot derive the vault keys: \(error.operation) failed.")
        }
    }

    static func random(_ count: Int) throws(KeywayError) -> [UInt8] {
        do throws(SodiumFailure) { return try Sodium.publicRandom(count) } catch {
            throw KeywayError(.io, "Cannot get random bytes: \(error.operation) failed.")
        }
    }

    /// The vault file for `document` under `keys`, with a fresh nonce. The serialized payload is wiped after sealing.
    func seal(_ document: CredentialDocument, keys: VaultKeys) throws(KeywayError) -> [UInt8] {
        var payload = document.serialized()
        defer { Sodium.wipe(&payload) }
        do throws(SodiumFailure) { return try VaultCodec.seal(payload, keys: keys) } catch {
            throw KeywayError(.io, "Cannot encrypt \(file.path): \(error.operation) failed.", path: file.path)
        }
    }

    // MARK: - Creating and re-keying

    /// What a new vault, or a re-keyed one, is locked with.
    public enum NewLock: Sendable {
        /// A fresh random 32-byte key, written to this file (created 0600; it must not exist yet).
        case generatedKeyFile(String)
        /// The first unlock source found (`unlock`), as for opening: an existing key or a passphrase.
        case unlockSource
        /// A passphrase: this text when given, else asked twice at the prompt.
        case passphrase(String?, prompt: PassphrasePrompt?)
    }

    /// Creates an empty vault locked with `lock`; refuses when the vault file exists. Returns the method used.
    @discardableResult
    public func create(_ lock: NewLock) throws(KeywayError) -> VaultMethod {
        var keyFile: String?
        do throws(KeywayError) {
            return try file.update { bytes throws(KeywayError) in
                guard bytes == nil else {
                    throw KeywayError(
                        .invalidInput,
                        "\(file.path) already exists; Keyway leaves it alone. Use keyway vault rekey to change its key "
                            + "or passphrase.", path: file.path)
                }
                let keys = try newKeys(for: lock, createdKeyFile: &keyFile)
                return (try seal(CredentialDocument(), keys: keys), keys.method)
            }
        } catch {
            try removeUnusedKeyFile(keyFile, vaultBefore: nil)
            throw error
        }
    }

    /// Re-encrypts the vault under `lock`. The current key or passphrase (from `unlock`) must open it first. The new
    /// file is written, fsynced and checked to open with the new key before it replaces the old one by rename, so the
    /// old file stays intact until then, and intact on any failure.
    ///
    /// A new passphrase gets the vault's current Argon2id cost with `cost`'s changes (a vault opened with a key has
    /// none: then `newVaultCost`'s); a cost lower than the current one, in passes or memory, is warned about (before
    /// any new passphrase is asked for). Returns the new vault's cost (nil when it is locked with a key).
    @discardableResult
    public func rekey(to lock: NewLock, cost change: Argon2Change = .keep) throws(KeywayError) -> Argon2Cost? {
        var keyFile: String?
        var before: [UInt8]?
        var newCost: Argon2Cost?
        do throws(KeywayError) {
            try file.update { bytes throws(KeywayError) in
                guard let bytes else {
                    throw KeywayError(
                        .invalidInput, "There is no vault at \(file.path); create one with keyway vault init.",
                        path: file.path)
                }
                before = bytes
                let (document, current) = try open(bytes)
                let cost = try change.applied(to: current.cost ?? newVaultCost)
                if let old = current.cost, cost.isLower(than: old), try newMethod(of: lock) == .passphrase {
                    file.warn?(
                        KeywayWarning(
                            .argon2CostLowered,
                            "Re-keying \(file.path) lowers its Argon2id cost from \(old) to \(cost); a stolen vault "
                                + "becomes cheaper to attack by guessing passphrases."))
                }
                let keys = try newKeys(for: lock, cost: cost, createdKeyFile: &keyFile)
                let sealed = try seal(document, keys: keys)
                try verify(sealed, opensTo: document, keyFile: keyFile, keys: keys)
                newCost = keys.cost
                return (sealed, ())
            }
        } catch {
            try removeUnusedKeyFile(keyFile, vaultBefore: before)
            throw error
        }
        cache.clear()
        return newCost
    }

    /// The method a vault locked with `lock` is opened with.
    func newMethod(of lock: NewLock) throws(KeywayError) -> VaultMethod {
        switch lock {
        case .unlockSource: return try unlock.source().method
        case .passphrase: return .passphrase
        case .generatedKeyFile: return .rawKey
        }
    }

    /// Keys for `lock`; a passphrase gets `cost` (by default `newVaultCost`).
    func newKeys(for lock: NewLock, cost: Argon2Cost? = nil, createdKeyFile: inout String?) throws(KeywayError)
        -> VaultKeys
    {
        switch lock {
        case .unlockSource:
            return try newKeys(from: try unlock.source(), cost: cost)
        case .passphrase(let text, let prompt):
            if let text { return try newKeys(from: .passphraseVariable(text), cost: cost) }
            guard let prompt else {
                throw KeywayError(
                    .vaultLocked,
                    "No new passphrase: set KEYWAY_NEW_PASSPHRASE, or run in a terminal to be prompted for it.")
            }
            return try newKeys(from: .prompt(prompt), cost: cost)
        case .generatedKeyFile(let path):
            try CoreDumps.disable()
            let key: SecureBytes
            do throws(SodiumFailure) { key = try SecureBytes.random(count: Sodium.keyBytes) } catch {
                throw KeywayError(.io, "Cannot generate a key: \(error.operation) failed.")
            }
            var exposed = key.exposedCopy()
            defer { Sodium.wipe(&exposed) }
            try ProtectedFile.ensureDirectory(ProtectedFile.directoryName(path))
            try ProtectedFile.createExclusively(path, with: exposed)
            createdKeyFile = path
            return try Self.keys(master: key, method: .rawKey, cost: nil, salt: [UInt8](repeating: 0, count: 16))
        }
    }

    /// Checks that `sealed` opens to `document`, with the key read back from the new key file when there is one.
    func verify(_ sealed: [UInt8], opensTo document: CredentialDocument, keyFile: String?, keys: VaultKeys)
        throws(KeywayError)
    {
        let header = try VaultHeader(parsing: sealed, source: file.path)
        var checkKeys = keys
        if let keyFile {
            let key = try VaultUnlock.readKeyFile(keyFile)
            checkKeys = try Self.keys(master: key, method: .rawKey, cost: nil, salt: header.salt)
        }
        guard try Self.decode(sealed, header: header, keys: checkKeys, source: file.path) == document else {
            throw KeywayError(.io, "The re-encrypted vault did not read back the same; \(file.path) is unchanged.")
        }
    }

    /// After a failed create or rekey: removes the key file this operation created, unless the vault on disk is no
    /// longer what it was before (then the key might be needed, and it is kept).
    func removeUnusedKeyFile(_ keyFile: String?, vaultBefore: [UInt8]?) throws(KeywayError) {
        guard let keyFile else { return }
        let now = try? file.read()
        guard now == vaultBefore else {
            throw KeywayError(
                .io,
                "The operation failed after \(file.path) changed; the new key file \(keyFile) was kept. Check "
                    + "which key opens the vault before deleting anything.", path: file.path)
        }
        try? Sys.unlink(keyFile)
    }
}

/// The keys derived by one store, kept so a read followed by a write (or several operations) run Argon2id once.
final class KeyCache: Sendable {
    private let state = Mutex<VaultKeys?>(nil)

    func keys(matching header: VaultHeader) -> VaultKeys? {
        state.withLock { keys in
            guard let keys, keys.matchesParameters(of: header) else { return nil }
            return keys
        }
    }

    func store(_ keys: VaultKeys) { state.withLock { $0 = keys } }
    func clear() { state.withLock { $0 = nil } }
}
