/// What happened to one credential during `keyway migrate`.
public enum MigrationEvent: Sendable, Equatable {
    /// Written to the target, read back identical, then deleted from the source.
    case moved(CredentialID, from: String)
    /// The target already held the same credential; the source's copy was deleted.
    case alreadyPresent(CredentialID, from: String)
    /// The target, or another source, holds a different credential under the same app and profile (`differsFrom`
    /// names it): that credential was moved from no source, so the copy in use stays the one in use.
    case conflict(CredentialID, from: String, differsFrom: String)
    /// A source backend cannot be used here; its credentials (if any) were not looked at.
    case sourceSkipped(String, reason: String)
}

/// Moves every credential (or those of `app`) from every other usable backend into `target`, without losing any:
/// each is written to the target and read back identical before it is deleted from its sources. A credential whose
/// copies differ — the target's and a source's, or two sources' — is left everywhere it is (reported as a conflict
/// for each source copy), so the copy `auto` uses stays the one in use. `report` is called as each
/// credential is handled, so a failure part-way leaves an accurate account; the first error stops the migration.
public func migrate(
    to target: BackendName, app: String?, options: StoreOptions, report: (MigrationEvent) -> Void
) throws(KeywayError) {
    guard target != .auto else {
        throw KeywayError(
            .invalidInput, "migrate needs a concrete target backend: keyring, encrypted, plaintext or openbao.")
    }
    var targetOptions = options
    targetOptions.backend = target
    let destination = try openStore(targetOptions)
    if case .unavailable(let reason) = destination.availability() {
        throw KeywayError(
            .backendUnavailable, "The \(target) backend cannot be used here: \(reason). Nothing was moved.")
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
    // The OpenBao store only when Keyway is configured for it (never because VAULT_ADDR is set).
    if target != .openbao && OpenBaoConfiguration.isConfigured(options.environment) {
        sources.append((.openbao, openbaoStore(options)))
    }

    // Every source's copies first: a credential is moved only when all its copies agree.
    var copies: [CredentialID: [(name: BackendName, store: any CredentialStore, credential: Credential)]] = [:]
    for (name, source) in sources {
        let credentials: [Credential]
        do throws(KeywayError) {
            credentials = try source.list(app: app)
        } catch  where error.meansBackendUnusable {
            report(.sourceSkipped(name.rawValue, reason: error.message))
            continue
        }
        for credential in credentials { copies[credential.id, default: []].append((name, source, credential)) }
    }
    for id in copies.keys.sorted() {
        let found = copies[id]!
        let existing = try destination.read(id)
        let reference = existing ?? found[0].credential
        let referenceName = existing != nil ? target.rawValue : found[0].name.rawValue
        if found.contains(where: { $0.credential != reference }) {
            for copy in found {
                let other =
                    copy.credential != reference
                    ? referenceName : found.first { $0.credential != reference }!.name.rawValue
                report(.conflict(id, from: copy.name.rawValue, differsFrom: other))
            }
            continue
        }
        if existing == nil {
            try destination.write(reference)
            guard let readBack = try destination.read(id), readBack == reference else {
                throw KeywayError(
                    .io,
                    "Migrating \(id): the \(target) store did not return what was written to it, so the credential "
                        + "was left in the \(found.map(\.name.rawValue).joined(separator: " and ")) store. Nothing "
                        + "else was changed for it.")
            }
        }
        for (index, copy) in found.enumerated() {
            try copy.store.delete(id)
            report(
                existing == nil && index == 0
                    ? .moved(id, from: copy.name.rawValue) : .alreadyPresent(id, from: copy.name.rawValue))
        }
    }
}
