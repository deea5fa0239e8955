/// Resolves an app's key by its spec: `--api-key`, then `--key-file`, then the spec's environment variables in
/// order, then its sources (the tool's files and Keyway's store) in order. The first key found wins; a layer that
/// cannot be read is an error, never skipped.
public struct ResolutionEngine: Sendable {
    public let spec: AppSpec
    public let environment: Environment
    public let store: any CredentialStore
    public let workingDirectory: String
    public let strict: Bool
    public let today: Day
    /// What reads the spec's `keyring` sources (other programs' keyring items); nil: none is read (they are
    /// `skipped`).
    public let foreignKeyring: (any ForeignKeyringReader)?

    public init(
        spec: AppSpec, environment: Environment, store: any CredentialStore,
        workingDirectory: String = currentDirectory(), strict: Bool = false, today: Day = .today(),
        foreignKeyring: (any ForeignKeyringReader)? = nil
    ) {
        self.foreignKeyring = foreignKeyring
        self.spec = spec
        self.environment = environment
        self.store = store
        self.workingDirectory = workingDirectory
        self.strict = strict
        self.today = today
    }

    /// A file read by the engine, with what it yielded.
    enum Reading {
        case missing(String)
        case empty(String)
        case skipped(String)
        case key(ResolvedKey, String)
    }

    /// Resolves. With `explain`, every layer is evaluated and reported (later keys as `shadowed`) and a layer
    /// failure is recorded in the result instead of thrown.
    public func resolve(
        profile: String = CredentialID.defaultProfile, apiKey: String? = nil, keyFile: String? = nil,
        explain: Bool = false
    ) throws(KeywayError) -> Resolution {
        let id = CredentialID(app: spec.name, profile: profile)
        try id.validate()
        let collector = WarningCollector()
        var layers: [ResolutionLayer] = []
        var winner: ResolvedKey?
        var failure: KeywayError?

        func record(_ kind: ResolutionLayer.Kind, _ name: String, _ outcome: () throws(KeywayError) -> Reading)
            throws(KeywayError)
        {
            if !explain && (winner != nil || failure != nil) { return }
            let reading: Reading
            do throws(KeywayError) {
                reading = try outcome()
            } catch {
                if !explain { throw error }
                if failure == nil { failure = error }
                layers.append(ResolutionLayer(kind: kind, name: name, status: .error, detail: error.message))
                return
            }
            switch reading {
            case .missing(let detail):
                layers.append(ResolutionLayer(kind: kind, name: name, status: .missing, detail: detail))
            case .empty(let detail):
                layers.append(ResolutionLayer(kind: kind, name: name, status: .empty, detail: detail))
            case .skipped(let detail):
                layers.append(ResolutionLayer(kind: kind, name: name, status: .skipped, detail: detail))
            case .key(let key, let detail):
                let masked = spec.masked(key.secret)
                if winner == nil && failure == nil {
                    winner = key
                    layers.append(
                        ResolutionLayer(
                            kind: kind, name: name, status: .found, detail: detail, masked: masked, key: key))
                } else {
                    layers.append(
                        ResolutionLayer(
                            kind: kind, name: name, status: .shadowed, detail: detail + "; an earlier layer wins",
                            masked: masked, key: key))
                }
            }
        }

        try record(.flag, "--api-key") { () throws(KeywayError) -> Reading in
            guard let apiKey else { return .missing("not given") }
            if apiKey.isEmpty { throw KeywayError(.invalidInput, "--api-key was given an empty key.") }
            if let violation = APIKeyRules.violation(apiKey) {
                throw KeywayError(.invalidInput, "The key given with --api-key \(violation).")
            }
            return .key(ResolvedKey(id: id, secret: Secret(apiKey), source: .flag), "given on the command line")
        }
        try record(.keyFile, keyFile ?? "--key-file") { () throws(KeywayError) -> Reading in
            guard let keyFile else { return .missing("not given") }
            let path = Git.absolutePath(expandHome(keyFile, environment), from: workingDirectory)
            switch try readRaw(path, id: id, source: .keyFile(path), collector: collector) {
            case .missing: throw KeywayError(.io, "The key file \(path) does not exist.", path: path)
            case .empty: throw KeywayError(.invalidInput, "The key file \(path) is empty.", path: path)
            case let other: return other
            }
        }
        for (index, variable) in spec.environmentVariables.enumerated() {
            let shown = shownEnvironmentVariable(variable, for: id.app)
            try record(.env, shown) { () throws(KeywayError) -> Reading in
                guard let value = environment[variable] else { return .missing("not set") }
                if environment.invalidUTF8.contains(variable) {
                    throw KeywayError(.invalidInput, "The environment variable \(shown) is not valid UTF-8.")
                }
                if value.isEmpty { return .empty("set but empty") }
                if let violation = APIKeyRules.violation(value) {
                    throw KeywayError(.invalidInput, "The environment variable \(shown) holds a key that \(violation).")
                }
                let detail = index == 0 ? "set" : "set (legacy alias of \(spec.environmentVariables[0]))"
                return .key(ResolvedKey(id: id, secret: Secret(value), source: .environment(variable)), detail)
            }
        }
        // systemd credentials (LoadCredential=, LoadCredentialEncrypted=): right after the environment, for every app.
        if let file = Self.systemdCredentialFile(for: id, environment: environment) {
            try record(.file, file) { () throws(KeywayError) -> Reading in
                try readRaw(file, id: id, source: .file(file), collector: collector)
            }
        }
        for source in spec.sources {
            switch source {
            case .store:
                try record(.store, store.backendName) { () throws(KeywayError) -> Reading in
                    if let path = store.filePath, (try? Sys.lstat(path)) != nil { collector.gitCheck(path, self) }
                    guard let credential = try store.read(id) else {
                        return .missing("no credential for \(id) in \(store.location)")
                    }
                    return .key(
                        ResolvedKey(
                            id: id, secret: credential.secret,
                            source: .store(backend: store.backendName, location: store.location), credential: credential
                        ),
                        "stored in \(store.location)")
                }
            case .raw(let location):
                let (path, chosenBy) = location.resolve(environment)
                try record(.file, path) { () throws(KeywayError) -> Reading in
                    if profile != CredentialID.defaultProfile {
                        return .skipped("holds one key, used for the default profile only")
                    }
                    return annotate(try readRaw(path, id: id, source: .file(path), collector: collector), chosenBy)
                }
            case .json(let location, let fields):
                let (path, chosenBy) = location.resolve(environment)
                try record(.file, path) { () throws(KeywayError) -> Reading in
                    if profile != CredentialID.defaultProfile {
                        return .skipped("holds one key, used for the default profile only")
                    }
                    return annotate(try readJSON(path, fields: fields, id: id, collector: collector), chosenBy)
                }
            case .yamlProfiles(let location, let profilesField, let fields):
                let (path, chosenBy) = location.resolve(environment)
                try record(.file, path) { () throws(KeywayError) -> Reading in
                    annotate(
                        try readYAML(path, profilesField: profilesField, fields: fields, id: id, collector: collector),
                        chosenBy)
                }
            case .document(let format, let location, let document):
                let (path, chosenBy) = location.resolve(environment)
                try record(.file, path) { () throws(KeywayError) -> Reading in
                    annotate(try readDocument(path, format, document, id: id, collector: collector), chosenBy)
                }
            case .npmrc(let location, let defaultRegistry):
                var npmrcFile: (path: String, chosenBy: String?) = (location.resolve(environment).path, nil)
                var pathError: KeywayError?
                do throws(KeywayError) { npmrcFile = try npmrcPath(location) } catch { pathError = error }
                try record(.file, npmrcFile.path) { () throws(KeywayError) -> Reading in
                    if let pathError { throw pathError }
                    if profile != CredentialID.defaultProfile {
                        return .skipped("holds one key per registry, used for the default profile only")
                    }
                    return annotate(
                        try readNPMRC(npmrcFile.path, defaultRegistry: defaultRegistry, id: id, collector: collector),
                        npmrcFile.chosenBy)
                }
            case .keyring(let item):
                var name = "(attributes not known)"
                var nameError: KeywayError?
                do throws(KeywayError) { name = try keyringSearch(item, id: id).name } catch { nameError = error }
                try record(.keyring, name) { () throws(KeywayError) -> Reading in
                    if let nameError { throw nameError }
                    return try readKeyring(item, id: id)
                }
            case .gitRoot(let fileName):
                let root = Git.repository(
                    containingDirectory: workingDirectory, environment: environment, workingDirectory: workingDirectory
                )?.root
                let name = root.map { ($0 == "/" ? "" : $0) + "/" + fileName } ?? "<git root>/\(fileName)"
                try record(.file, name) { () throws(KeywayError) -> Reading in
                    guard root != nil else {
                        return .skipped("\(workingDirectory) is not inside a git repository")
                    }
                    if profile != CredentialID.defaultProfile {
                        return .skipped("holds one key, used for the default profile only")
                    }
                    try Self.refuseLinkOutOfRepository(name, root: root!)
                    return try readRaw(name, id: id, source: .file(name), collector: collector)
                }
            }
        }

        if let winner {
            if case .environment(let variable) = winner.source, variable != spec.environmentVariables.first,
                let preferred = spec.environmentVariables.first
            {
                collector.add(
                    KeywayWarning(
                        .deprecatedVariable,
                        "\(variable) is a legacy alias; set \(preferred) instead (it works the same and wins over \(variable))."
                    ))
            }
            do throws(KeywayError) {
                if let warning = try spec.checkPrefix(winner.secret) { collector.add(warning) }
            } catch {
                collector.add(
                    KeywayWarning(
                        .unexpectedPrefix,
                        "The key in use does not start with \(spec.requiredPrefixes.joined(separator: " or ")), as "
                            + "\(spec.name) keys must; \(spec.name) will reject it."))
            }
            for warning in expiryWarnings(
                expires: winner.expires, created: winner.credential?.created, source: winner.source)
            {
                collector.add(warning)
            }
        }
        return Resolution(
            id: id, spec: spec, key: failure == nil ? winner : nil, layers: layers, warnings: collector.warnings,
            error: failure)
    }

    /// The systemd credential `keyway.APP` (default profile) or `keyway.APP.PROFILE` in `$CREDENTIALS_DIRECTORY`
    /// (an absolute path), read as a raw key file with the checks of the tools' own files; nil when that variable is
    /// not set, or a name holds `/` or starts with `.` (it would not name a file in that directory).
    public static func systemdCredentialFile(for id: CredentialID, environment: Environment) -> String? {
        guard let directory = environment.nonEmpty("CREDENTIALS_DIRECTORY"), directory.hasPrefix("/"),
            let name = systemdCredentialName(for: id)
        else { return nil }
        return (directory.hasSuffix("/") ? directory : directory + "/") + name
    }

    /// `keyway.APP`, or `keyway.APP.PROFILE` for a profile other than the default; nil for a name holding `/` or
    /// starting with `.`.
    public static func systemdCredentialName(for id: CredentialID) -> String? {
        for name in [id.app, id.profile] where name.contains("/") || name.hasPrefix(".") || name.isEmpty { return nil }
        return id.profile == CredentialID.defaultProfile ? "keyway.\(id.app)" : "keyway.\(id.app).\(id.profile)"
    }

    /// Expiry and rotation warnings for a key: expired, expiring within 14 days, stored longer than the spec's
    /// rotation period. The advice for an expired key depends on `source` (see `renewalAdvice`).
    public func expiryWarnings(expires: Day?, created: Timestamp?, source: KeySource? = nil) -> [KeywayWarning] {
        var warnings: [KeywayWarning] = []
        if let expires {
            let days = expires.days(since: today)
            if days < 0 {
                warnings.append(
                    KeywayWarning(.expired, "This key expired on \(expires); \(renewalAdvice(for: source))."))
            } else if days <= 14 {
                let when = days == 0 ? "today" : "in \(days) day\(days == 1 ? "" : "s")"
                warnings.append(KeywayWarning(.expiresSoon, "This key expires \(when) (\(expires)); rotate it soon."))
            }
        }
        if let created, created.secondsSinceEpoch > 0 {
            let age = today.days(since: created.utcDay)
            if age > spec.rotateAfterDays {
                warnings.append(
                    KeywayWarning(
                        .rotate,
                        "This key was stored \(age) days ago; rotate keys every \(spec.rotateAfterDays) days "
                            + "(create a new one, keyway login with it, then revoke the old one)."))
            }
        }
        return warnings
    }

    /// How to replace the key from `source` so that resolution picks the new one up: `keyway login` only when
    /// Keyway's store would then win; for a key from an environment variable or from one of the tool's own files
    /// that comes before the store in the spec, that variable or file.
    public func renewalAdvice(for source: KeySource?) -> String {
        let login = "store a new one with keyway login"
        switch source {
        case nil, .store: return login
        case .flag: return "pass a new one"
        case .keyFile(let path): return "put a new one in \(path)"
        case .environment(let variable):
            return "set \(variable) to a new one, or unset it and \(login) (\(variable) wins over Keyway's store)"
        case .file(let path):
            guard fileComesBeforeStore(path) else { return login }
            return "put a new one in \(path), or remove \(path) and \(login) (\(path) wins over Keyway's store)"
        case .keyring(let item):
            guard
                spec.sources.firstIndex(where: { if case .keyring = $0 { true } else { false } }) ?? .max
                    < spec.sources.firstIndex(of: .store) ?? .max
            else { return login }
            return
                "log in again with the tool that keeps the keyring item \(item), or \(login) (that item wins over Keyway's store)"
        }
    }

    /// Whether the tool's file at `path` (as resolution names it) comes before Keyway's store in the spec's sources.
    public func fileComesBeforeStore(_ path: String) -> Bool {
        for source in spec.sources {
            switch source {
            case .store: return false
            case .gitRoot(let fileName):
                if path.hasSuffix("/" + fileName) { return true }
            default:
                if (try? resolvedPath(source))??.path == path { return true }
            }
        }
        return false
    }

    /// The profiles each of the spec's per-profile files holds, by path (files that do not exist are left out).
    public func profilesInFiles() throws(KeywayError) -> [(path: String, profiles: [String])] {
        var result: [(path: String, profiles: [String])] = []
        for source in spec.sources {
            if case .document(let format, let location, let document) = source {
                let path = location.resolve(environment).path
                guard let bytes = try ProtectedFile(path: path, strict: strict).read() else { continue }
                let root = try documentRoot(format, Self.withoutByteOrderMark(bytes), path: path)
                result.append((path, try documentProfiles(root, format, document, path: path)))
                continue
            }
            guard case .yamlProfiles(let location, let profilesField, _) = source else { continue }
            let path = location.resolve(environment).path
            guard let bytes = try ProtectedFile(path: path, strict: strict).read() else { continue }
            let root = try yamlRoot(bytes, path: path)
            if case .object(let members)? = root[profilesField] {
                result.append((path, members.map(\.0)))
            } else {
                result.append((path, []))
            }
        }
        return result
    }
}
