// The OpenBao backend's offline copy (`KEYWAY_OPENBAO_CACHE`): an encrypted vault (Keyway's own format, unlocked by
// the key file `KEYWAY_OPENBAO_CACHE_KEY_FILE`) holding the credentials this host has read or written, each with the
// time it last came from the server. It is used only when the server cannot be reached, with a warning naming the
// copy's age, and refused past `KEYWAY_OPENBAO_CACHE_MAX_AGE` seconds (default 7 days).

extension KeywayWarning.Code {
    /// The OpenBao server could not be reached and the offline copy was used.
    public static let openbaoOfflineCopy = Self(rawValue: "openbao-offline-copy")
}

/// The OpenBao store with its offline copy.
public struct OpenBaoCachedStore: CredentialStore {
    public let server: OpenBaoStore
    let cache: EncryptedStore
    let maxAge: Int64
    let warn: WarningHandler?

    public static let defaultMaxAge: Int64 = 7 * 86400
    /// The scope that records, in the cached copy only, when it last came from the server.
    static let fetchedScope = "keyway-offline-copy-fetched:"

    /// The store `options` configure: nil when `KEYWAY_OPENBAO_CACHE` is not set.
    static func configured(_ options: StoreOptions, server: OpenBaoStore) throws(KeywayError) -> OpenBaoCachedStore? {
        let environment = options.environment
        guard let path = environment.nonEmpty("KEYWAY_OPENBAO_CACHE") else { return nil }
        guard let keyFile = environment.nonEmpty("KEYWAY_OPENBAO_CACHE_KEY_FILE") else {
            throw KeywayError(
                .invalidInput,
                "KEYWAY_OPENBAO_CACHE needs KEYWAY_OPENBAO_CACHE_KEY_FILE: the file holding the 32-byte key that "
                    + "encrypts the offline copy (make one with: keyway vault init --key-file PATH).")
        }
        var maxAge = defaultMaxAge
        if let text = environment.nonEmpty("KEYWAY_OPENBAO_CACHE_MAX_AGE") {
            guard let value = Int64(text), value > 0 else {
                throw KeywayError(
                    .invalidInput, "KEYWAY_OPENBAO_CACHE_MAX_AGE must be a whole number of seconds greater than 0.")
            }
            maxAge = value
        }
        let unlock = VaultUnlock(environment: Environment(["KEYWAY_VAULT_KEY_FILE": keyFile]))
        return OpenBaoCachedStore(
            server: server, cache: EncryptedStore(path: path, unlock: unlock, strict: true, warn: options.warn),
            maxAge: maxAge, warn: options.warn)
    }

    public var backendName: String { server.backendName }
    public var location: String { server.location + " (offline copy: \(cache.location))" }
    public func availability() -> Availability { server.availability() }

    /// Only a server that cannot be reached makes the offline copy be used (never a refusal: a revoked token, a
    /// sealed server, a denied path are errors as they are).
    static func isOffline(_ error: KeywayError) -> Bool {
        [.openbaoUnreachable, .openbaoTimeout, .openbaoNoActiveNode].contains(error.code)
    }

    public func read(_ id: CredentialID) throws(KeywayError) -> Credential? {
        let credential: Credential?
        do throws(KeywayError) {
            credential = try server.read(id)
        } catch  where Self.isOffline(error) {
            guard let cached = try cache.read(id), let (copy, fetched) = Self.split(cached) else {
                throw KeywayError(
                    error.code, error.message + " No offline copy of \(id) is kept (KEYWAY_OPENBAO_CACHE).")
            }
            let age = Timestamp.now().secondsSinceEpoch - fetched.secondsSinceEpoch
            guard age <= maxAge else {
                throw KeywayError(
                    error.code,
                    error.message + " The offline copy of \(id) is \(Self.describe(age)) old, older than "
                        + "KEYWAY_OPENBAO_CACHE_MAX_AGE (\(Self.describe(maxAge))), so it was not used.")
            }
            warn?(
                KeywayWarning(
                    .openbaoOfflineCopy,
                    "Using the offline copy of \(id) from \(Self.describe(age)) ago (KEYWAY_OPENBAO_CACHE): "
                        + error.message))
            return copy
        }
        try remember(id, credential)
        return credential
    }

    public func write(_ credential: Credential) throws(KeywayError) {
        try server.write(credential)
        try remember(credential.id, credential)
    }

    @discardableResult
    public func delete(_ id: CredentialID) throws(KeywayError) -> Bool {
        let removed = try server.delete(id)
        try remember(id, nil)
        return removed
    }

    /// The server's list; offline, the copies kept that are not past the maximum age, with a warning.
    public func list(app: String?) throws(KeywayError) -> [Credential] {
        do throws(KeywayError) {
            return try server.list(app: app)
        } catch  where Self.isOffline(error) {
            let now = Timestamp.now().secondsSinceEpoch
            let copies = try cache.list(app: app).compactMap(Self.split).filter {
                now - $0.fetched.secondsSinceEpoch <= maxAge
            }
            guard let oldest = copies.map(\.fetched.secondsSinceEpoch).min() else { throw error }
            warn?(
                KeywayWarning(
                    .openbaoOfflineCopy,
                    "Listing the offline copies (KEYWAY_OPENBAO_CACHE; the oldest from \(Self.describe(now - oldest)) "
                        + "ago, copies older than \(Self.describe(maxAge)) left out): " + error.message))
            return copies.map(\.credential)
        }
    }

    /// Keeps `credential` (nil: forgets `id`) as just read from the server.
    private func remember(_ id: CredentialID, _ credential: Credential?) throws(KeywayError) {
        do throws(KeywayError) {
            try cache.modifyDocument { document throws(KeywayError) in
                guard var copy = credential else { return document.remove(id) }
                copy.scopes.append(Self.fetchedScope + Timestamp.now().description)
                document.upsert(copy)
                return true
            }
        } catch {
            throw KeywayError(
                error.code,
                "The offline copy (KEYWAY_OPENBAO_CACHE) cannot be updated: \(error.message) (the server itself was "
                    + "\(credential == nil ? "read" : "read or written"); unset KEYWAY_OPENBAO_CACHE to go without).",
                path: error.path)
        }
    }

    /// A cached copy as it came from the server, and when.
    static func split(_ cached: Credential) -> (credential: Credential, fetched: Timestamp)? {
        guard let marker = cached.scopes.last, marker.hasPrefix(fetchedScope),
            let fetched = Timestamp(parsing: String(marker.dropFirst(fetchedScope.count)))
        else { return nil }
        var copy = cached
        copy.scopes.removeLast()
        return (copy, fetched)
    }

    static func describe(_ seconds: Int64) -> String {
        switch seconds {
        case ..<120: return "\(max(0, seconds)) seconds"
        case ..<7200: return "\(seconds / 60) minutes"
        case ..<172_800: return "\(seconds / 3600) hours"
        default: return "\(seconds / 86400) days"
        }
    }
}
