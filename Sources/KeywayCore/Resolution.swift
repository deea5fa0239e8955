/// Where a resolved key came from.
public enum KeySource: Sendable, Equatable, CustomStringConvertible {
    /// An explicit `--api-key` flag (or an argument given by the program).
    case flag
    /// An environment variable, by name.
    case environment(String)
    /// A Keyway store: the backend's name and where it stores.
    case store(backend: String, location: String)

    /// `flag`, `env` or `store`, as in JSON output.
    public var kind: String {
        switch self {
        case .flag: return "flag"
        case .environment: return "env"
        case .store: return "store"
        }
    }

    /// The variable name, or the backend's name; nil for a flag.
    public var name: String? {
        switch self {
        case .flag: return nil
        case .environment(let variable): return variable
        case .store(let backend, _): return backend
        }
    }

    public var description: String {
        switch self {
        case .flag: return "--api-key flag"
        case .environment(let variable): return "environment variable \(variable)"
        case .store(let backend, let location): return "\(backend) store (\(location))"
        }
    }
}

/// A key and where it came from. `credential` is set when the key came from a store.
public struct ResolvedKey: Sendable {
    public let id: CredentialID
    public let secret: Secret
    public let source: KeySource
    public let credential: Credential?
}

/// The foundation's resolution order for any app: the explicit key, then `<APP>_API_KEY`, then the stored
/// credential. The first one found wins; a store that fails to read is an error, never skipped.
public struct KeyResolver: Sendable {
    public let environment: Environment
    public let store: any CredentialStore

    public init(environment: Environment, store: any CredentialStore) {
        self.environment = environment
        self.store = store
    }

    public func resolve(_ id: CredentialID, explicitKey: String? = nil) throws(KeywayError) -> ResolvedKey? {
        if let explicitKey {
            return ResolvedKey(id: id, secret: Secret(explicitKey), source: .flag, credential: nil)
        }
        let variable = defaultEnvironmentVariable(for: id.app)
        if let value = environment.nonEmpty(variable) {
            return ResolvedKey(id: id, secret: Secret(value), source: .environment(variable), credential: nil)
        }
        if let credential = try store.read(id) {
            return ResolvedKey(
                id: id, secret: credential.secret, source: .store(backend: store.backendName, location: store.location),
                credential: credential)
        }
        return nil
    }

    /// The not-found message, in the Reflex documentation's wording.
    public static func notFoundMessage(_ id: CredentialID) -> String {
        let login = id.profile == CredentialID.defaultProfile
            ? "keyway login \(id.app)" : "keyway login \(id.app) --profile \(id.profile)"
        return "Error: API key is required. Run `\(login)` or set \(defaultEnvironmentVariable(for: id.app))."
    }
}
