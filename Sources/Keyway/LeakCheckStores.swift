// What leak-check learns from Keyway's own stores: the digests of the values they hold, so a stored key pasted into
// a file is found without leak-check ever keeping a plaintext pattern.

/// The stored values of every store that can be read without asking anything, and what happened with each store.
public struct StoredSecretsForLeakCheck: Sendable {
    public let matcher: StoredSecretMatcher
    /// Stores not consulted and why (informational).
    public let notes: [String]
    /// Stores that failed: the scan reports them and exits 2.
    public let errors: [String]
}

/// Reads the stores usable without a prompt: the plaintext file when it exists; the encrypted vault when it exists
/// and a key or passphrase is configured in the environment (never the passphrase prompt); the keyring when a
/// Secret Service answers and its default collection is unlocked; the OpenBao store when configured. Each value is digested (SHA-256) at once.
public func storedSecretsForLeakCheck(_ options: StoreOptions) -> StoredSecretsForLeakCheck {
    var secrets: [(label: String, secret: Secret)] = []
    var notes: [String] = []
    var errors: [String] = []
    func collect(_ store: any CredentialStore, _ name: String) {
        do throws(KeywayError) {
            for credential in try store.list() {
                secrets.append(("\(credential.id.app)/\(credential.id.profile) (\(name))", credential.secret))
            }
        } catch {
            errors.append("Cannot read the \(name) store to match the keys it holds: \(error.message)")
        }
    }
    // Plaintext file first, keyring last (the reverse of auto's order), as leak-check always read them.
    let readable = unattendedStores(options)
    for (name, store) in readable.stores.reversed() { collect(store, name.rawValue) }
    for (name, reason) in readable.skipped.reversed() {
        let what = name == .encrypted ? "encrypted vault \(options.paths.vaultFile)" : name.rawValue
        notes.append("The \(what) was not consulted: \(reason) (leak-check never prompts).")
    }
    for (name, error) in readable.failed {
        errors.append("Cannot read the \(name.rawValue) store to match the keys it holds: \(error.message)")
    }
    // The OpenBao store when Keyway is configured for it (KEYWAY_BACKEND=openbao or a KEYWAY_OPENBAO_* setting),
    // never because VAULT_ADDR is set; a server that fails is an error like any store.
    if OpenBaoConfiguration.isConfigured(options.environment) { collect(openbaoStore(options), "openbao") }
    return StoredSecretsForLeakCheck(matcher: StoredSecretMatcher(secrets: secrets), notes: notes, errors: errors)
}
