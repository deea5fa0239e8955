@_exported import KeywayCore
@_exported import KeywayPlaintext

/// The storage backends Keyway knows, by their `--backend` / `KEYWAY_BACKEND` names.
public enum BackendName: String, Sendable, CaseIterable, CustomStringConvertible {
    case plaintext
    case encrypted
    case keyring
    case auto

    public var description: String { rawValue }

    /// Parses a name; the error lists the valid ones.
    public init(parsing text: String) throws(KeywayError) {
        guard let name = BackendName(rawValue: text.lowercased()) else {
            throw KeywayError(
                .invalidInput,
                "Unknown backend '\(text)'. Backends: plaintext (available), encrypted, keyring, auto (reserved).")
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

    public init(backend: BackendName = .plaintext, strict: Bool = false, paths: KeywayPaths, warn: WarningHandler? = nil) {
        self.backend = backend
        self.strict = strict
        self.paths = paths
        self.warn = warn
    }

    /// From the environment: `KEYWAY_BACKEND`, `KEYWAY_STRICT`, `KEYWAY_CONFIG_DIR`, `KEYWAY_CREDENTIALS_FILE`,
    /// `XDG_CONFIG_HOME`, `HOME`. Explicit values (flags) win over the environment.
    public init(
        environment: Environment, backend: String? = nil, strict: Bool = false, warn: WarningHandler? = nil
    ) throws(KeywayError) {
        let name = backend ?? environment.nonEmpty("KEYWAY_BACKEND") ?? BackendName.plaintext.rawValue
        self.init(
            backend: try BackendName(parsing: name), strict: strict || environment.flag("KEYWAY_STRICT"),
            paths: try KeywayPaths(environment: environment), warn: warn)
    }
}

/// Opens the store the options name.
public func openStore(_ options: StoreOptions) throws(KeywayError) -> any CredentialStore {
    switch options.backend {
    case .plaintext:
        return PlaintextStore(paths: options.paths, strict: options.strict, warn: options.warn)
    case .encrypted, .keyring, .auto:
        throw KeywayError(
            .backendUnavailable,
            "The '\(options.backend)' backend is not available in this version of Keyway; use --backend plaintext.")
    }
}
