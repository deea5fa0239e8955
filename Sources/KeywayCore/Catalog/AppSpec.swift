/// How one tool finds its API key, as data. The built-in specs and users' `apps/*.json` files use the same JSON
/// format (documented in the README, "App specs").
public struct AppSpec: Sendable, Equatable {
    /// A place the tool reads its key from, in resolution order. Exactly one source is Keyway's own store.
    public enum Source: Sendable, Equatable {
        /// A JSON file; `fields.key` names the field that holds the key.
        case json(FileLocation, FieldNames)
        /// A file whose whole content (surrounding whitespace removed) is the key.
        case raw(FileLocation)
        /// A YAML file with per-profile entries under `profilesField` (FluxLoop's `profiles: NAME: api_key: ...`).
        case yamlProfiles(FileLocation, profilesField: String, FieldNames)
        /// A raw key file at the root of the current directory's git repository (Reflow's `reflow.key`).
        case gitRoot(fileName: String)
        /// A YAML, INI or TOML file read as a tree, the key at `DocumentPath` (gh's `hosts.yml`, `~/.pypirc`, the
        /// Stripe CLI's `config.toml`).
        case document(DocumentFormat, FileLocation, DocumentPath)
        /// npm's user config (`~/.npmrc`): the `//REGISTRY/:_authToken` entry of the registry in force
        /// (`npm_config_registry`, else the file's `registry`, else `defaultRegistry`).
        case npmrc(FileLocation, defaultRegistry: String)
        /// An item another program keeps in the system keyring (gh's `gh:HOST`), found by its attributes; read
        /// through the engine's `ForeignKeyringReader` (the umbrella's Secret Service lookup).
        case keyring(KeyringItem)
        /// Keyway's own store.
        case store

        public var typeName: String {
            switch self {
            case .json: return "json"
            case .raw: return "raw"
            case .yamlProfiles: return "yaml-profiles"
            case .gitRoot: return "git-root"
            case .document(let format, _, _): return format.rawValue
            case .npmrc: return "npmrc"
            case .keyring: return "keyring"
            case .store: return "store"
            }
        }

        /// The file the source reads, for those that read one at a known place (not `git-root`, not the store).
        public var fileLocation: FileLocation? {
            switch self {
            case .json(let location, _), .raw(let location), .yamlProfiles(let location, _, _),
                .document(_, let location, _), .npmrc(let location, _):
                return location
            case .gitRoot, .keyring, .store: return nil
            }
        }

        /// The file name by which `leak-check` takes a file anywhere for a credentials file of this source. Nil for
        /// `document` and `npmrc` sources: theirs are tools' config files (`config.yml`, `config.toml`, a project's
        /// `.npmrc`) that hold other settings too and are often committed without a key, so their name says
        /// nothing; leak-check finds the keys in them by content, and audits the files themselves at their paths
        /// (`fileLocation`).
        public var credentialFileName: String? {
            switch self {
            case .gitRoot(let name): return name
            case .document, .npmrc, .keyring, .store: return nil
            case .json(let location, _), .raw(let location), .yamlProfiles(let location, _, _):
                return ProtectedFile.baseName(location.path)
            }
        }
    }

    /// A `keyring` source's item: the attributes it is searched by (every one must match, others may be there too,
    /// as a Secret Service search does). Values may hold `{host}` (the first of `hostVariables` set, else
    /// `defaultHost`) and, in `profileAttributes`, `{profile}`.
    public struct KeyringItem: Sendable, Equatable {
        /// The default profile's item; nil: this source holds no key for the default profile.
        public var attributes: [String: String]?
        /// Another profile's item (the values name `{profile}`); nil: this source holds the default profile's only.
        public var profileAttributes: [String: String]?
        public var hostVariables: [String]
        public var defaultHost: String?

        public init(
            attributes: [String: String]?, profileAttributes: [String: String]? = nil, hostVariables: [String] = [],
            defaultHost: String? = nil
        ) {
            self.attributes = attributes
            self.profileAttributes = profileAttributes
            self.hostVariables = hostVariables
            self.defaultHost = defaultHost
        }
    }

    /// How a `document` source's file is written.
    public enum DocumentFormat: String, Sendable, Equatable, CaseIterable {
        case yaml, ini, toml
    }

    /// Where the key is in a `document` source's tree. The names may hold `{profile}` (Keyway's profile) and
    /// `{host}` (the host in force: the first of `hostVariables` set, else `defaultHost`).
    public struct DocumentPath: Sendable, Equatable {
        /// The names leading to the mapping (or section, or table) that holds the key fields, for the default
        /// profile; `[]` is the top level.
        public var entry: [String]
        /// The same for other profiles; nil: `entry` serves every profile when it names `{profile}`, else the file
        /// holds the default profile's key only.
        public var profileEntry: [String]?
        /// A field (names from the top level) that names the profile the tool uses by default (doctl's `context`,
        /// set by `doctl auth switch`): when it names another profile, the default profile's key is read from
        /// `profileEntry` with that name.
        public var activeProfile: [String]?
        public var hostVariables: [String]
        public var defaultHost: String?
        public var fields: FieldNames
        /// The key's field in `profileEntry` when it differs from `fields.key` (doctl: `auth-contexts: NAME: TOKEN`
        /// is `profile_entry: ["auth-contexts"]`, `profile_key_field: "{profile}"`).
        public var profileKeyField: String?

        public init(
            entry: [String], profileEntry: [String]? = nil, activeProfile: [String]? = nil,
            hostVariables: [String] = [], defaultHost: String? = nil, fields: FieldNames,
            profileKeyField: String? = nil
        ) {
            self.entry = entry
            self.profileEntry = profileEntry
            self.profileKeyField = profileKeyField
            self.activeProfile = activeProfile
            self.hostVariables = hostVariables
            self.defaultHost = defaultHost
            self.fields = fields
        }
    }

    /// A file's default path (`~` is the home directory) and the variables that override it.
    public struct FileLocation: Sendable, Equatable {
        public var path: String
        /// A directory that replaces the default's directory (the file name stays), e.g. `REFLEX_CONFIG_DIR`.
        public var directoryVariable: String?
        /// A full path that replaces the default; wins over `directoryVariable`, e.g. `REFLEX_CONFIG_FILE`.
        public var fileVariable: String?
        /// A directory that replaces the default's leading `~/.config` (a path that starts so), e.g.
        /// `XDG_CONFIG_HOME`; an absolute path only (the XDG rule: a relative one is ignored). The other two win.
        public var configHomeVariable: String?

        public init(
            path: String, directoryVariable: String? = nil, fileVariable: String? = nil,
            configHomeVariable: String? = nil
        ) {
            self.path = path
            self.directoryVariable = directoryVariable
            self.fileVariable = fileVariable
            self.configHomeVariable = configHomeVariable
        }

        /// The path in force and what chose it.
        public func resolve(_ environment: Environment) -> (path: String, chosenBy: String?) {
            if let variable = fileVariable, let value = environment.nonEmpty(variable) {
                return (expandHome(value, environment), variable)
            }
            let base = ProtectedFile.baseName(path)
            if let variable = directoryVariable, let value = environment.nonEmpty(variable) {
                let directory = expandHome(value, environment)
                return (directory.hasSuffix("/") ? directory + base : directory + "/" + base, variable)
            }
            if let variable = configHomeVariable, let value = environment.nonEmpty(variable), value.hasPrefix("/"),
                path.hasPrefix("~/.config/")
            {
                return ((value.hasSuffix("/") ? String(value.dropLast()) : value) + path.dropFirst(9), variable)
            }
            return (expandHome(path, environment), nil)
        }
    }

    /// Field names in a JSON or YAML credentials file.
    public struct FieldNames: Sendable, Equatable {
        public var key: String
        public var account: String?
        public var organization: String?
        public var expires: String?
        public var scopes: String?

        public init(
            key: String, account: String? = nil, organization: String? = nil, expires: String? = nil,
            scopes: String? = nil
        ) {
            self.key = key
            self.account = account
            self.organization = organization
            self.expires = expires
            self.scopes = scopes
        }
    }

    /// A kind of token recognized by its prefix (Reminix: `reminix_sk_` is a server API key).
    public struct TokenKind: Sendable, Equatable {
        public var prefix: String
        public var name: String
        /// Said when a token of this kind is stored (Reminix's client tokens are short-lived and for browsers).
        public var warning: String?
        public init(prefix: String, name: String, warning: String? = nil) {
            self.prefix = prefix
            self.name = name
            self.warning = warning
        }
    }

    public var name: String
    /// Environment variables in order; the first is the preferred one, the others legacy aliases that still work
    /// but print a deprecation note. Empty: the tool reads no variable.
    public var environmentVariables: [String]
    public var sources: [Source]
    /// A key must start with one of these (login refuses others with `prefixMessage`).
    public var requiredPrefixes: [String]
    /// A key is expected to start with one of these (others give a warning).
    public var expectedPrefixes: [String]
    /// The vendor's wording when a key breaks the required prefix rule.
    public var prefixMessage: String?
    public var tokenKinds: [TokenKind]
    /// The not-found message after `Error: `. Placeholders: `{app}`, `{login}` (`keyway login APP` with
    /// `--profile P` when not default), `{env}` (the preferred variable), `{profile}`.
    public var notFoundMessage: String
    /// Status reminds to rotate a key stored longer than this.
    public var rotateAfterDays: Int

    public static let defaultNotFoundMessage = "API key is required. Run `{login}` or set {env}."

    public init(
        name: String, environmentVariables: [String], sources: [Source] = [.store], requiredPrefixes: [String] = [],
        expectedPrefixes: [String] = [], prefixMessage: String? = nil, tokenKinds: [TokenKind] = [],
        notFoundMessage: String = AppSpec.defaultNotFoundMessage, rotateAfterDays: Int = 90
    ) {
        self.name = name
        self.environmentVariables = environmentVariables
        self.sources = sources
        self.requiredPrefixes = requiredPrefixes
        self.expectedPrefixes = expectedPrefixes
        self.prefixMessage = prefixMessage
        self.tokenKinds = tokenKinds
        self.notFoundMessage = notFoundMessage
        self.rotateAfterDays = rotateAfterDays
    }

    /// The spec any app without one gets: `<APP>_API_KEY`, then the store.
    public static func defaultSpec(for app: String) -> AppSpec {
        AppSpec(name: app, environmentVariables: [defaultEnvironmentVariable(for: app)])
    }

    /// The variable `keyway run` sets: the first of `environmentVariables` (the preferred one), or nil for a spec
    /// that reads its key from no variable (then `run` needs `--env NAME`). A spec without a spec file gets
    /// `<APP>_API_KEY` from `defaultSpec(for:)`, not from here.
    public var primaryVariable: String? { environmentVariables.first }

    /// The token kind of `key`, when the spec defines kinds.
    public func tokenKind(of key: String) -> TokenKind? {
        tokenKinds.filter { key.hasPrefix($0.prefix) }.max { $0.prefix.count < $1.prefix.count }
    }

    /// The longest prefix of the key that a rule or kind names (used for masking).
    public func knownPrefix(of key: String) -> String? {
        (requiredPrefixes + expectedPrefixes + tokenKinds.map(\.prefix)).filter { key.hasPrefix($0) }
            .max { $0.count < $1.count }
    }

    /// `secret` masked, with the longest prefix this spec names kept whole (`Masking.mask`).
    public func masked(_ secret: Secret) -> String {
        let key = secret.reveal()
        return Masking.mask(key, knownPrefix: knownPrefix(of: key))
    }

    /// Checks the prefix rules: a required-prefix violation throws (with the vendor's wording), an unexpected
    /// prefix returns a warning.
    public func checkPrefix(_ secret: Secret) throws(KeywayError) -> KeywayWarning? {
        let key = secret.reveal()
        if !requiredPrefixes.isEmpty, !requiredPrefixes.contains(where: { key.hasPrefix($0) }) {
            let list = requiredPrefixes.joined(separator: " or ")
            throw KeywayError(
                .invalidKey,
                (prefixMessage ?? "Invalid API key: \(name) keys start with \(list).")
                    + " Nothing was stored.")
        }
        if !expectedPrefixes.isEmpty, !expectedPrefixes.contains(where: { key.hasPrefix($0) }) {
            return KeywayWarning(
                .unexpectedPrefix,
                "This key does not start with \(expectedPrefixes.joined(separator: " or ")), as \(name) keys do; "
                    + "check that it is the right key.")
        }
        return nil
    }

    /// Warnings for a key about to be stored (`login`, `import`): characters a person cannot see, a token kind whose
    /// spec warns against storing it, an expiry date already past.
    public func storingWarnings(_ secret: Secret, expires: Day?, today: Day = .today()) -> [KeywayWarning] {
        var warnings: [KeywayWarning] = []
        if let warning = APIKeyRules.invisibleCharacterWarning(secret) { warnings.append(warning) }
        if let kind = tokenKind(of: secret.reveal()), let text = kind.warning {
            warnings.append(KeywayWarning(.tokenKind, text))
        }
        if let expires, expires.days(since: today) < 0 {
            warnings.append(
                KeywayWarning(
                    .expired,
                    "The expiry date \(expires) is already past, so this key has expired and \(name) will refuse it; "
                        + "it was stored anyway. Check the date, or store a current key."))
        }
        return warnings
    }

    public func notFound(_ id: CredentialID) -> String {
        // The names were typed by the user (or come from a file) and may be a key: shown only when they cannot be,
        // and so the variable named after the app.
        let login = id.command("login")
        let env = shownEnvironmentVariable(
            environmentVariables.first ?? defaultEnvironmentVariable(for: id.app), for: id.app)
        return "Error: "
            + notFoundMessage.replacing("{login}", with: login).replacing("{app}", with: APIKeyRules.shownName(id.app))
            .replacing("{env}", with: env).replacing("{profile}", with: APIKeyRules.shownName(id.profile))
    }
}

extension KeywayError.Code {
    /// A key breaks its app's required prefix rule.
    public static let invalidKey = KeywayError.Code(rawValue: "invalid-key")
    /// An app spec file is malformed.
    public static let malformedSpec = KeywayError.Code(rawValue: "malformed-spec")
}

extension KeywayWarning.Code {
    /// A key does not start with a prefix its app expects.
    public static let unexpectedPrefix = KeywayWarning.Code(rawValue: "unexpected-prefix")
    /// A legacy alias variable supplied the key.
    public static let deprecatedVariable = KeywayWarning.Code(rawValue: "deprecated-variable")
    /// A key of a token kind whose spec warns against storing it (Reminix's client tokens).
    public static let tokenKind = KeywayWarning.Code(rawValue: "token-kind")
    /// The key was stored more than the spec's rotation period ago.
    public static let rotate = KeywayWarning.Code(rawValue: "rotate")
}

/// `~` or `~/...` expanded with the home directory.
func expandHome(_ path: String, _ environment: Environment) -> String {
    guard path == "~" || path.hasPrefix("~/"), let home = environment.home else { return path }
    return home + path.dropFirst()
}
