// The checks and warnings the keyway commands share with a program built on the library: the default profile, the
// warnings after a login or logout, an unknown app, a store git tracks, the environment a started tool gets, a weak
// vault cost, and leak-check's stored-key outcome.

extension CredentialID {
    /// The variable that names the default profile (`keyway --profile`'s default).
    public static let profileVariable = "KEYWAY_PROFILE"

    /// The profile a command works on: `given` (a `--profile` flag), else `KEYWAY_PROFILE` when set and not empty,
    /// else `default`.
    public static func profile(from environment: Environment, given: String? = nil) -> String {
        explicitProfile(from: environment, given: given) ?? defaultProfile
    }

    /// The profile chosen by `given` or `KEYWAY_PROFILE`, nil when neither chooses one (for what otherwise shows every
    /// profile, like `keyway status`).
    public static func explicitProfile(from environment: Environment, given: String? = nil) -> String? {
        given ?? environment.nonEmpty(profileVariable)
    }
}

extension KeywayWarning.Code {
    /// One of the tool's own credentials files holds a key that wins over Keyway's store.
    public static let fileOverridesStore = KeywayWarning.Code(rawValue: "file-overrides-store")
    /// Another backend's copy of the credential is the one `keyway get` without `--backend` returns.
    public static let otherBackendOverridesStore = KeywayWarning.Code(rawValue: "other-backend-overrides-store")
    /// An app name with no spec, close to one with a spec.
    public static let unknownApp = KeywayWarning.Code(rawValue: "unknown-app")
    /// A passphrase vault was created with an Argon2id cost below libsodium's MODERATE.
    public static let weakKeyDerivation = KeywayWarning.Code(rawValue: "weak-key-derivation")
}

extension AppCatalog {
    /// The warning for an app name with no spec that is close to one with a spec (`Reflex` for `reflex`), nil for
    /// any other name; a command then goes on with the name as given, as an app without a spec.
    public func unknownAppWarning(for app: String) -> KeywayWarning? {
        let names = suggestions(for: app)
        guard !names.isEmpty, APIKeyRules.isShowableName(app) else { return nil }
        return KeywayWarning(
            .unknownApp,
            "Unknown app '\(app)'; did you mean \(names.map { "'\($0)'" }.joined(separator: " or "))? Going on "
                + "with '\(app)' as an app without a spec (\(defaultEnvironmentVariable(for: app)), then Keyway's "
                + "store).")
    }
}

extension CredentialStore {
    /// The warning for this store's file (none for the keyring) when it sits in a git work tree that tracks it or
    /// would pick it up: check after writing to the store, as `keyway login` and `keyway import` do. Nil when it is
    /// safe or `KEYWAY_NO_GIT_WARNING` is set.
    public func gitLeakWarning(environment: Environment, workingDirectory: String = currentDirectory())
        -> KeywayWarning?
    {
        guard let path = filePath else { return nil }
        return Git.leakWarning(for: path, environment: environment, workingDirectory: workingDirectory)
    }
}

/// After a login or logout changed what `store` holds for `id` (`stored`: the key now stored, nil after a logout):
/// the warning `keyway login` and `keyway logout` print when resolution with `spec` does not end at the store — an
/// environment variable, or one of the tool's own files ahead of the store in its spec, holds a key that `keyway
/// get` and the tool itself use instead — naming it and how to change that. Nil when the store's key is the one in
/// use (or none is left).
///
/// Resolution runs as `keyway get` without `--backend` does (`defaultReadStore`), so a copy in another backend that
/// comes first — after a login to the plaintext store while the vault holds another key, or left after a logout from
/// the vault — is named too, with the command that removes it. The environment and strictness are `options`'.
public func storeOverrideWarning(
    for id: CredentialID, spec: AppSpec, store: any CredentialStore, stored: Secret?, options: StoreOptions,
    workingDirectory: String = currentDirectory()
) -> KeywayWarning? {
    func resolved(_ store: any CredentialStore) -> ResolvedKey?? {
        let engine = ResolutionEngine(
            spec: spec, environment: options.environment, store: store, workingDirectory: workingDirectory,
            strict: options.strict, foreignKeyring: StoreKeyringReader(store: store))
        guard let resolution = try? engine.resolve(profile: id.profile, explain: true), resolution.error == nil
        else { return nil }
        return .some(resolution.key)
    }
    // The default store when it can be read; else (it fails, or would have to ask) the store written.
    guard let found = defaultReadStore(options, selected: store).flatMap(resolved) ?? resolved(store),
        let winner = found
    else { return nil }
    let code: KeywayWarning.Code
    let place: String
    let advice: String
    switch winner.source {
    case .store(let backend, let location) where backend != store.backendName:
        // Another backend's copy is read first (or is all that is left).
        guard winner.secret != stored else { return nil }
        code = .otherBackendOverridesStore
        place = "The \(backend) store (\(location))"
        advice =
            "remove that copy (keyway logout \(id.app) --profile \(id.profile) --backend \(backend))"
            + (stored == nil
                ? ""
                : " or store the key there (keyway login \(id.app) --profile \(id.profile) --backend \(backend))")
        if stored != nil {
            return KeywayWarning(
                code,
                "\(place) holds another key for \(id), and keyway get \(id.app) without --backend reads that copy, "
                    + "not the \(store.backendName) store's: keyway get and keyway run use it, not the key just "
                    + "stored. To make the key just stored the one in use, \(advice).")
        }
        return KeywayWarning(
            code,
            "keyway get \(id.app) (without --backend) still returns a key for \(id): the \(backend) store "
                + "(\(location)) holds one, which is now the copy in use. To remove it too, run keyway logout "
                + "\(id.app) --profile \(id.profile) --backend \(backend).")
    case .environment(let variable):
        code = .environmentOverridesStore
        place = "The environment variable \(variable)"
        advice = "unset \(variable)"
    case .file(let path):
        code = .fileOverridesStore
        place = "\(path) (\(id.app)'s own credentials file)"
        let quoted = ProtectedFile.shellQuoted(path)
        if stored == nil {
            advice = "remove the key from \(path) or the file itself (rm \(quoted))"
        } else if winner.secret == stored {
            advice = "move it into the store with keyway import \(id.app) --remove (or remove \(path) yourself)"
        } else {
            advice = "put the new key in \(path), or remove the file (rm \(quoted))"
        }
    default:
        return nil
    }
    if let stored {
        let same = winner.secret == stored
        return KeywayWarning(
            code,
            "\(place) holds \(same ? "the same key" : "another key") for \(id) and wins over Keyway's "
                + "store, so keyway get \(id.app) and \(id.app) itself use \(same ? "that copy" : "it, not the key just stored")"
                + ". To make the store's key the one in use, \(advice).")
    }
    return KeywayWarning(
        code,
        "keyway get \(id.app) still returns a key for \(id): \(place) holds one, and it comes before "
            + "Keyway's store. To stop that, \(advice).")
}

/// The variables never passed on to a program Keyway starts (`keyway run`'s CMD): the vault's key and passphrase
/// (`KEYWAY_VAULT_KEY_FILE`, `KEYWAY_VAULT_KEY`, `KEYWAY_PASSPHRASE`) and a new passphrase for it
/// (`KEYWAY_NEW_PASSPHRASE`). With them, the program could read every stored key.
public let childWithheldVariables: [String] =
    VaultUnlock.variables + ["KEYWAY_NEW_PASSPHRASE"] + OpenBaoConfiguration.credentialVariables
    + ["KEYWAY_OPENBAO_CACHE_KEY_FILE"]

/// The variables `keyway run --pristine` passes on from its own environment (besides the injected ones).
public let pristineVariables: [String] = ["PATH", "HOME", "USER", "LANG", "TERM"]

/// Whether `keyway run` passes this process's variable `name` on to the program it starts, where `injected` are the
/// names it sets itself (a key, an env file's entry, a resolved reference): never `childWithheldVariables`, never an
/// injected name (its new value replaces it), and with `pristine` only `pristineVariables`.
public func childInherits(_ name: String, injected: Set<String>, pristine: Bool) -> Bool {
    if injected.contains(name) || childWithheldVariables.contains(name) { return false }
    return !pristine || pristineVariables.contains(name)
}

/// The environment for a program started with `key` in `variable`, as `keyway run` builds it: `environment`
/// without `childWithheldVariables`, with `variable` set to the key (replacing any value it had). A value that was not
/// valid UTF-8 is as `environment` holds it (repaired); `keyway run` itself copies its own entries byte for byte.
public func childEnvironment(_ environment: Environment, variable: String, key: Secret) -> [String: String] {
    childEnvironment(environment, injecting: [(variable, key.reveal())], pristine: false)
}

/// The environment for a program started with the `injected` variables (a later entry for a name wins), as
/// `keyway run` builds it (`childInherits`).
public func childEnvironment(_ environment: Environment, injecting injected: [(String, String)], pristine: Bool)
    -> [String: String]
{
    let names = Set(injected.map(\.0))
    var values = environment.values.filter { childInherits($0.key, injected: names, pristine: pristine) }
    for (name, value) in injected { values[name] = value }
    return values
}

extension Argon2Cost {
    /// The warning for a new passphrase vault with this cost, when it is below libsodium's MODERATE (a stolen vault
    /// is then cheaper to attack by guessing passphrases); nil otherwise.
    public var weaknessWarning: KeywayWarning? {
        guard isBelowModerate else { return nil }
        return KeywayWarning(
            .weakKeyDerivation,
            "Argon2id cost \(self) is below libsodium's MODERATE (opslimit 3, memlimit 256 MiB); a stolen vault is "
                + "cheaper to attack by guessing passphrases.")
    }
}

extension StoredSecretsForLeakCheck {
    /// Puts what happened with the stores into `report`, as `keyway leak-check` does: their notes before the
    /// report's notes, their errors (the report's exit status is then 2) before its errors.
    public func record(in report: inout LeakReport) {
        report.notes = notes + report.notes
        report.errors = errors + report.errors
    }
}
