// The library is these five modules' public API (the model, the storage protocol, the backends, resolution, the
// app-spec format, leak-check), re-exported whole: each keeps its plumbing `package` (visible inside this package
// only) and its C libraries `internal`, so a re-export carries nothing else. Tests/PublicSurfaceTests checks it.
@_exported import KeywayCore
@_exported import KeywayEncrypted
@_exported import KeywayLeakCheck
@_exported import KeywayOpenBao
@_exported import KeywayPlaintext
@_exported import KeywaySecretService

/// The storage backends Keyway knows, by their `--backend` / `KEYWAY_BACKEND` names.
public enum BackendName: String, Sendable, CaseIterable, CustomStringConvertible {
    case plaintext
    case encrypted
    case keyring
    /// OpenBao or HashiCorp Vault KV version 2 (never chosen by `auto`).
    case openbao
    case auto

    public var description: String { rawValue }

    /// Parses a name; the error lists the valid ones.
    public init(parsing text: String) throws(KeywayError) {
        guard let name = BackendName(rawValue: text.lowercased()) else {
            throw KeywayError(
                .invalidInput,
                "Unknown backend \(APIKeyRules.isQuotable(text) ? "'\(text)'" : "(the name given is not shown)"). "
                    + "Backends: auto (the default), keyring, encrypted, plaintext, openbao.")
        }
        self = name
    }
}

/// Settings that choose and configure a store, read from flags and the environment.
public struct StoreOptions: Sendable {
    public var backend: BackendName
    public var strict: Bool
    public var paths: KeywayPaths
    public var warn: WarningHandler?
    /// Where the encrypted backend finds its key or passphrase (`KEYWAY_VAULT_KEY_FILE`, `KEYWAY_VAULT_KEY`,
    /// `KEYWAY_PASSPHRASE`), and the prompt it may use.
    public var vaultUnlock: VaultUnlock
    /// The environment backends read their own settings from (the keyring: the session bus, the display).
    public var environment: Environment

    public init(
        backend: BackendName = .auto, strict: Bool = false, paths: KeywayPaths, warn: WarningHandler? = nil,
        vaultUnlock: VaultUnlock? = nil, environment: Environment = .process()
    ) {
        self.backend = backend
        self.strict = strict
        self.paths = paths
        self.warn = warn
        self.vaultUnlock = vaultUnlock ?? VaultUnlock(environment: environment)
        self.environment = environment
    }

    /// From the environment: `KEYWAY_BACKEND` (default `auto`), `KEYWAY_STRICT`, `KEYWAY_CONFIG_DIR`,
    /// `KEYWAY_CREDENTIALS_FILE`, `KEYWAY_VAULT_FILE`, the vault's key and passphrase variables, `XDG_CONFIG_HOME`,
    /// `HOME`, and for the keyring `DBUS_SESSION_BUS_ADDRESS`, `XDG_RUNTIME_DIR`, `DISPLAY`, `WAYLAND_DISPLAY`,
    /// `KEYWAY_KEYRING_TIMEOUT`. Explicit values (flags) win. `passphrasePrompt` is how the encrypted backend may
    /// ask for a passphrase.
    public init(
        environment: Environment, backend: String? = nil, strict: Bool = false, warn: WarningHandler? = nil,
        passphrasePrompt: PassphrasePrompt? = nil
    ) throws(KeywayError) {
        let name = backend ?? environment.nonEmpty("KEYWAY_BACKEND") ?? BackendName.auto.rawValue
        try SecretServiceConfiguration.checkTimeouts(environment)
        self.init(
            backend: try BackendName(parsing: name), strict: strict || environment.flag("KEYWAY_STRICT"),
            paths: try KeywayPaths(environment: environment), warn: warn,
            vaultUnlock: VaultUnlock(environment: environment, prompt: passphrasePrompt), environment: environment)
    }
}

/// Waits for whatever a store opened by `openStore` started loading in the background (libcurl, for the OpenBao
/// backend); returns at once when nothing is loading. Call it before `exit()` (a command line tool's early error
/// included): exit must not tear libraries down under a thread still loading them.
public func finishBackgroundLoading() { OpenBaoStore.finishBackgroundLoading() }

/// Opens the store the options name (for OpenBao, libcurl starts loading in the background: see
/// `finishBackgroundLoading`).
public func openStore(_ options: StoreOptions) throws(KeywayError) -> any CredentialStore {
    switch options.backend {
    case .plaintext:
        return plaintextStore(options)
    case .encrypted:
        return encryptedStore(options)
    case .keyring:
        return keyringStore(options)
    case .openbao:
        let server = openbaoStore(options)
        server.prepare()
        return try OpenBaoCachedStore.configured(options, server: server) ?? server
    case .auto:
        return AutoStore(options)
    }
}
