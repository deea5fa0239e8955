/// Whether a backend can be used here and now, and if not, why.
public enum Availability: Sendable, Equatable {
    case available
    case unavailable(reason: String)

    public var isAvailable: Bool { self == .available }
}

/// The protocol every storage backend implements.
///
/// Contract (checked by `KeywayTesting.StoreConformance`):
/// - `read` returns nil when there is no such credential and throws when the store cannot be read: a missing entry
///   and a failure are never confused.
/// - `write` replaces any credential with the same id (app and profile) and leaves every other one untouched.
/// - `delete` returns whether something was removed.
/// - `list` returns every credential, or those of one app, sorted by app then profile.
/// - Errors are `KeywayError`s whose messages name the file or service concerned and never contain a secret.
public protocol CredentialStore: Sendable {
    /// The backend's name as used by `--backend` (`plaintext`, `encrypted`, `keyring`).
    var backendName: String { get }
    /// Where it stores, for people: a path, or a service and collection.
    var location: String { get }
    /// The file it stores in, for file-based backends (checked for git leaks); nil otherwise.
    var filePath: String? { get }
    /// Whether this backend can be used now; the reason says what to do when it cannot.
    func availability() -> Availability
    func read(_ id: CredentialID) throws(KeywayError) -> Credential?
    func write(_ credential: Credential) throws(KeywayError)
    @discardableResult func delete(_ id: CredentialID) throws(KeywayError) -> Bool
    func list(app: String?) throws(KeywayError) -> [Credential]
    /// Removes every profile of `app` (atomically where the backend can); returns the ids removed.
    @discardableResult func deleteAll(app: String) throws(KeywayError) -> [CredentialID]
}

extension CredentialStore {
    public var filePath: String? { nil }

    public func list() throws(KeywayError) -> [Credential] { try list(app: nil) }

    /// Default: one `delete` per profile.
    @discardableResult
    public func deleteAll(app: String) throws(KeywayError) -> [CredentialID] {
        var removed: [CredentialID] = []
        for credential in try list(app: app) where try delete(credential.id) {
            removed.append(credential.id)
        }
        return removed
    }
}
