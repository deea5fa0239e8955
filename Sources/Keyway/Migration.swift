/// What happened to one credential during `keyway migrate`.
public enum MigrationEvent: Sendable, Equatable {
    /// Written to the target, read back identical, then deleted from the source.
    case moved(CredentialID, from: String)
    /// The target already held the same credential; the source's copy was deleted.
    case alreadyPresent(CredentialID, from: String)
    /// The target holds a different credential under the same app and profile: nothing was changed.
    case conflict(CredentialID, from: String)
    /// A source backend cannot be used here; its credentials (if any) were not looked at.
    case sourceSkipped(String, reason: String)
}

/// Moves every credential (or those of `app`) from every other usable backend into `target`, without losing any:
/// each is written to the target and read back identical before it is deleted from its source. A credential that
/// differs from one already in the target is left where it is (reported as a conflict). `report` is called as each
/// credential is handled, so a failure part-way leaves an accurate account; the first error stops the migration.
public func migrate(
    to target: BackendName, app: String?, options: StoreOptions, report: (MigrationEvent) -> Void
) throws(KeywayError) {
    guard target != .auto else {
        throw KeywayError(.invalidInput, "migrate needs a concrete target backend: keyring, encrypted or plaintext.")
    }
    var targetOptions = options
    targetOptions.backend = target
    let destination = try openStore(targetOptions)
    if case .unavailable(let reason) = destination.availability() {
        throw KeywayError(.backendUnavailable, "The \(target) backend cannot be used here: \(reason). Nothing was moved.")
    }
    // The target must be readable (a corrupted vault, a wrong passphrase) before anything is looked at.
    _ = try destination.list(app: app)
    var sources: [(BackendName, any CredentialStore)] = []
    if target != .keyring { sources.append((.keyring, keyringStore(options))) }
    if target != .encrypted {
        if let encrypted = encryptedCandidate(options) {
            sources.append((.encrypted, encrypted))
        } else {
            report(.sourceSkipped(BackendName.encrypted.rawValue, reason: encryptedUnavailableReason(options)))
        }
    }
    if target != .plaintext { sources.append((.plaintext, plaintextStore(options))) }

    for (name, source) in sources {
        let credentials: [Credential]
        do throws(KeywayError) {
            credentials = try source.list(app: app)
        } catch where error.meansBackendUnusable {
            report(.sourceSkipped(name.rawValue, reason: error.message))
            continue
        }
        for credential in credentials {
            if let existing = try destination.read(credential.id) {
                guard existing == credential else {
                    report(.conflict(credential.id, from: name.rawValue))
                    continue
                }
                try source.delete(credential.id)
                report(.alreadyPresent(credential.id, from: name.rawValue))
                continue
            }
            try destination.write(credential)
            guard let readBack = try destination.read(credential.id), readBack == credential else {
                throw KeywayError(
                    .io,
                    "Migrating \(credential.id): the \(target) store did not return what was written to it, so the "
                        + "credential was left in the \(name) store. Nothing else was changed for it.")
            }
            try source.delete(credential.id)
            report(.moved(credential.id, from: name.rawValue))
        }
    }
}
