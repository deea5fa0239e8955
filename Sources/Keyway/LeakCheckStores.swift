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
/// Secret Service answers and its default collection is unlocked. Each value is digested (SHA-256) at once.
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
    if (try? Sys.lstat(options.paths.credentialsFile)) != nil {
        collect(plaintextStore(options), "plaintext")
    }
    if (try? Sys.lstat(options.paths.vaultFile)) != nil {
        let configured = ["KEYWAY_VAULT_KEY_FILE", "KEYWAY_VAULT_KEY", "KEYWAY_PASSPHRASE"]
            .contains { options.environment.nonEmpty($0) != nil }
        if configured {
            var unattended = options
            unattended.vaultUnlock = VaultUnlock(environment: options.environment, prompt: nil)
            collect(encryptedStore(unattended), "encrypted")
        } else {
            notes.append(
                "The encrypted vault \(options.paths.vaultFile) was not consulted: no KEYWAY_VAULT_KEY_FILE, "
                    + "KEYWAY_VAULT_KEY or KEYWAY_PASSPHRASE is set (leak-check never prompts).")
        }
    }
    let keyring = keyringStore(options)
    switch keyring.state() {
    case .ready, .noDefaultCollection:
        collect(keyring, "keyring")
    case .locked(let collection, _):
        notes.append("The keyring was not consulted: its collection \(collection) is locked (leak-check never prompts).")
    case .unreachable:
        break
    }
    return StoredSecretsForLeakCheck(matcher: StoredSecretMatcher(secrets: secrets), notes: notes, errors: errors)
}
