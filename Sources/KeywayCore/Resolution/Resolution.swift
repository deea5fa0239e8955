/// Where a resolved key came from.
public enum KeySource: Sendable, Equatable, CustomStringConvertible {
    /// An explicit `--api-key` flag (or an argument given by the program).
    case flag
    /// A key file named explicitly (`--key-file`, Reflow's `-k`).
    case keyFile(String)
    /// An environment variable, by name.
    case environment(String)
    /// One of the tool's own credentials files.
    case file(String)
    /// An item the tool keeps in the system keyring (gh's `gh:HOST`), by its attributes (`service="gh:HOST" ...`).
    case keyring(String)
    /// A Keyway store: the backend's name and where it stores.
    case store(backend: String, location: String)

    /// `flag`, `key-file`, `env`, `file` or `store`, as in JSON output.
    public var kind: String {
        switch self {
        case .flag: return "flag"
        case .keyFile: return "key-file"
        case .environment: return "env"
        case .file: return "file"
        case .keyring: return "keyring"
        case .store: return "store"
        }
    }

    /// The flag, the variable, the path or the backend's name.
    public var name: String {
        switch self {
        case .flag: return "--api-key"
        case .keyFile(let path): return path
        case .environment(let variable): return variable
        case .file(let path): return path
        case .keyring(let item): return item
        case .store(let backend, _): return backend
        }
    }

    public var description: String {
        switch self {
        case .flag: return "--api-key flag"
        case .keyFile(let path): return "key file \(path)"
        case .environment(let variable): return "environment variable \(variable)"
        case .file(let path): return "credentials file \(path)"
        case .keyring(let item): return "keyring item \(item)"
        case .store(let backend, let location): return "\(backend) store \(location)"
        }
    }
}

/// A key and where it came from, with what was recorded alongside it.
public struct ResolvedKey: Sendable {
    public let id: CredentialID
    public let secret: Secret
    public let source: KeySource
    public var account: String?
    public var organization: String?
    public var scopes: [String] = []
    public var expires: Day?
    /// The stored credential, when the key came from Keyway's store.
    public var credential: Credential?

    public init(id: CredentialID, secret: Secret, source: KeySource, credential: Credential? = nil) {
        self.id = id
        self.secret = secret
        self.source = source
        self.credential = credential
        if let credential {
            account = credential.account
            organization = credential.organization
            scopes = credential.scopes
            expires = credential.expires
        }
    }
}

/// One place the engine looked, in order.
public struct ResolutionLayer: Sendable {
    public enum Kind: String, Sendable {
        case flag
        case keyFile = "key-file"
        case env
        case file
        case keyring
        case store
    }

    public enum Status: String, Sendable {
        /// It supplied the key in use.
        case found
        /// It holds a key, but an earlier layer won.
        case shadowed
        /// Nothing there (variable unset, file absent, no such profile).
        case missing
        /// Set or present but empty.
        case empty
        /// Not applicable (not inside a git repository, a one-key file for another profile...).
        case skipped
        /// Could not be read; resolution fails.
        case error
    }

    public let kind: Kind
    public let name: String
    public var status: Status
    public var detail: String
    public var masked: String?
    /// The key this layer holds (found or shadowed).
    public var key: ResolvedKey?
}

/// The outcome of resolving one app and profile.
public struct Resolution: Sendable {
    public let id: CredentialID
    public let spec: AppSpec
    /// The key in use; nil when none was found or a layer failed.
    public let key: ResolvedKey?
    public let layers: [ResolutionLayer]
    public let warnings: [KeywayWarning]
    /// The first layer failure (in explain mode; otherwise it is thrown).
    public let error: KeywayError?

    /// The token kind of the key in use, where the spec defines kinds.
    public var keyKind: AppSpec.TokenKind? { key.flatMap { spec.tokenKind(of: $0.secret.reveal()) } }

    public var masked: String? { key.map { spec.masked($0.secret) } }
}
