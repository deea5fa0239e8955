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
    /// A Keyway store: the backend's name and where it stores.
    case store(backend: String, location: String)

    /// `flag`, `key-file`, `env`, `file` or `store`, as in JSON output.
    public var kind: String {
        switch self {
        case .flag: return "flag"
        case .keyFile: return "key-file"
        case .environment: return "env"
        case .file: return "file"
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
        case .store(let backend, _): return backend
        }
    }

    public var description: String {
        switch self {
        case .flag: return "--api-key flag"
        case .keyFile(let path): return "key file \(path)"
        case .environment(let variable): return "environment variable \(variable)"
        case .file(let path): return "credentials file \(path)"
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
        /// Looked at, not consulted because an earlier layer won (only when not explaining).
        case notConsulted = "not-consulted"
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

    public init(
        spec: AppSpec, environment: Environment, store: any CredentialStore, workingDirectory: String,
        strict: Bool = false, today: Day = .today()
    ) {
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
                        ResolutionLayer(kind: kind, name: name, status: .found, detail: detail, masked: masked, key: key))
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
                            source: .store(backend: store.backendName, location: store.location), credential: credential),
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
                        "\(variable) is a legacy alias; set \(preferred) instead (it works the same and wins over \(variable))."))
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

    /// Expiry and rotation warnings for a key: expired, expiring within 14 days, stored longer than the spec's
    /// rotation period. The advice for an expired key depends on `source` (see `renewalAdvice`).
    public func expiryWarnings(expires: Day?, created: Timestamp?, source: KeySource? = nil) -> [KeywayWarning] {
        var warnings: [KeywayWarning] = []
        if let expires {
            let days = expires.days(since: today)
            if days < 0 {
                warnings.append(KeywayWarning(.expired, "This key expired on \(expires); \(renewalAdvice(for: source))."))
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
        }
    }

    /// Whether the tool's file at `path` (as resolution names it) comes before Keyway's store in the spec's sources.
    public func fileComesBeforeStore(_ path: String) -> Bool {
        for source in spec.sources {
            switch source {
            case .store: return false
            case .json(let location, _), .raw(let location), .yamlProfiles(let location, _, _):
                if location.resolve(environment).path == path { return true }
            case .gitRoot(let fileName):
                if path.hasSuffix("/" + fileName) { return true }
            }
        }
        return false
    }

    /// The profiles each of the spec's per-profile files holds, by path (files that do not exist are left out).
    public func profilesInFiles() throws(KeywayError) -> [(path: String, profiles: [String])] {
        var result: [(path: String, profiles: [String])] = []
        for source in spec.sources {
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

    // MARK: Readers

    /// A file at the root of a git repository is in a directory anyone may have cloned, and a clone can hold
    /// symbolic links: one leading out of the repository (to `~/.gh-token`, another tool's key file) would hand
    /// that secret to this tool. Such a link, or one whose target cannot be resolved, is refused; a link to a file
    /// inside the repository is read like the file.
    static func refuseLinkOutOfRepository(_ path: String, root: String) throws(KeywayError) {
        guard let st = try? Sys.lstat(path), FileMode.isSymlink(st) else { return }
        let realRoot = (try? Sys.realpath(root)) ?? root
        let target = try? Sys.realpath(path)
        if let target, Git.isInside(target, realRoot), target != realRoot { return }
        throw KeywayError(
            .unsafeFile,
            "\(path) is a symbolic link "
                + (target.map { "to \($0), outside the repository \(realRoot)" } ?? "whose target cannot be resolved")
                + ": Keyway does not follow it, since a cloned repository can plant such a link to hand "
                + "another tool's key over. Replace the link with the key file itself, or pass the file with "
                + "--key-file.", path: path)
    }

    func annotate(_ reading: Reading, _ chosenBy: String?) -> Reading {
        guard let chosenBy else { return reading }
        let note = " (location from \(chosenBy))"
        switch reading {
        case .missing(let d): return .missing(d + note)
        case .empty(let d): return .empty(d + note)
        case .skipped(let d): return .skipped(d + note)
        case .key(let k, let d): return .key(k, d + note)
        }
    }

    func readBytes(
        _ path: String, collector: WarningCollector, sizeLimit: Int = ProtectedFile.defaultSizeLimit
    ) throws(KeywayError) -> [UInt8]? {
        let file = ProtectedFile(path: path, strict: strict, warn: collector.handler, sizeLimit: sizeLimit)
        guard var bytes = try file.read() else { return nil }
        collector.gitCheck(path, self)
        // A UTF-8 byte-order mark at the start (Windows editors write one) marks the file's encoding; it is not part
        // of the key. Anywhere else U+FEFF is a format character, which `APIKeyRules` refuses.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return bytes
    }

    func readRaw(_ path: String, id: CredentialID, source: KeySource, collector: WarningCollector)
        throws(KeywayError) -> Reading
    {
        guard let bytes = try readBytes(path, collector: collector, sizeLimit: ProtectedFile.keyFileSizeLimit) else {
            return .missing("\(path) does not exist")
        }
        return try rawReading(bytes, path: path, id: id, source: source)
    }

    /// The key of a raw key file's contents.
    func rawReading(_ bytes: [UInt8], path: String, id: CredentialID, source: KeySource) throws(KeywayError) -> Reading {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.malformedFile, "\(path) is not valid UTF-8 text.", path: path)
        }
        let key = text.trimmingWhitespace()
        if key.isEmpty { return .empty("\(path) is empty") }
        if key.contains(where: { $0.isNewline }) {
            throw KeywayError(.malformedFile, "\(path) holds more than one line; a key file holds only the key.", path: path)
        }
        if let violation = APIKeyRules.violation(key) {
            throw KeywayError(.malformedFile, "\(path) holds a key that \(violation).", path: path)
        }
        return .key(ResolvedKey(id: id, secret: Secret(key), source: source), "read from \(path)")
    }

    func readJSON(_ path: String, fields: AppSpec.FieldNames, id: CredentialID, collector: WarningCollector)
        throws(KeywayError) -> Reading
    {
        guard let bytes = try readBytes(path, collector: collector) else { return .missing("\(path) does not exist") }
        return try entry(try jsonRoot(bytes, path: path), fields: fields, id: id, path: path, field: "")
    }

    /// The top-level object of a JSON credentials file's contents.
    func jsonRoot(_ bytes: [UInt8], path: String) throws(KeywayError) -> JSON {
        let root: JSON
        do throws(JSONSyntaxError) { root = try JSON.parse(bytes) } catch {
            throw KeywayError(.malformedFile, "\(path) is not valid JSON: \(error).", path: path)
        }
        guard case .object = root else {
            throw KeywayError(.malformedFile, "\(path): the top level must be an object.", path: path)
        }
        return root
    }

    /// The document of a YAML credentials file's contents.
    func yamlRoot(_ bytes: [UInt8], path: String) throws(KeywayError) -> JSON {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.malformedFile, "\(path) is not valid UTF-8 text.", path: path)
        }
        do throws(YAML.SyntaxError) { return try YAML.parse(text) } catch {
            throw KeywayError(.malformedFile, "\(path) is not valid YAML: \(error).", path: path)
        }
    }

    func readYAML(
        _ path: String, profilesField: String, fields: AppSpec.FieldNames, id: CredentialID,
        collector: WarningCollector
    ) throws(KeywayError) -> Reading {
        guard let bytes = try readBytes(path, collector: collector) else { return .missing("\(path) does not exist") }
        let root = try yamlRoot(bytes, path: path)
        guard let profiles = root[profilesField], case .object(let members) = profiles else {
            return .missing("\(path) has no \(profilesField) section")
        }
        guard let entryValue = profiles[id.profile] else {
            let names = members.map(\.0).joined(separator: ", ")
            return .missing("\(path) has no profile \(id.profile) (profiles: \(names.isEmpty ? "none" : names))")
        }
        guard case .object = entryValue else {
            throw KeywayError(
                .malformedFile, "\(path): \(profilesField).\(id.profile) must be a mapping.", path: path)
        }
        return try entry(entryValue, fields: fields, id: id, path: path, field: "\(profilesField).\(id.profile).")
    }

    /// Reads the key and metadata fields of one JSON/YAML entry.
    func entry(_ value: JSON, fields: AppSpec.FieldNames, id: CredentialID, path: String, field prefix: String)
        throws(KeywayError) -> Reading
    {
        func string(_ name: String?) throws(KeywayError) -> String? {
            guard let name, let v = value[name], v != .null else { return nil }
            guard let s = v.stringValue else {
                throw KeywayError(
                    .malformedFile, "\(path): \(prefix)\(name) must be a string, found \(v.typeName).", path: path)
            }
            return s
        }
        // A field Keyway reads written twice is ambiguous: the tool's own JSON reader may take the last one
        // (Python's and Node's do), another the first; a security tool does not guess.
        if case .object(let members) = value {
            let read = Set([fields.key, fields.account, fields.organization, fields.expires, fields.scopes].compactMap { $0 })
            var names = MemberNames()
            for (name, _) in members where read.contains(name) && !names.insert(name) {
                throw KeywayError(
                    .malformedFile,
                    "\(path): \(prefix)\(name) is written more than once, so which one \(spec.name) uses is not "
                        + "certain; Keyway does not guess. Keep one.", path: path)
            }
        }
        guard let key = try string(fields.key) else { return .missing("\(path) has no \(prefix)\(fields.key) field") }
        if key.isEmpty { return .empty("\(path): \(prefix)\(fields.key) is empty") }
        if let violation = APIKeyRules.violation(key) {
            throw KeywayError(
                .malformedFile, "\(path): \(prefix)\(fields.key) holds a key that \(violation).", path: path)
        }
        var resolved = ResolvedKey(id: id, secret: Secret(key), source: .file(path))
        resolved.account = try string(fields.account)
        resolved.organization = try string(fields.organization)
        if let expires = try string(fields.expires) {
            guard let day = Day(parsing: String(expires.prefix(10))) else {
                throw KeywayError(
                    .malformedFile, "\(path): \(prefix)\(fields.expires!) must be a date YYYY-MM-DD.", path: path)
            }
            resolved.expires = day
        }
        if let scopesField = fields.scopes, let v = value[scopesField], v != .null {
            switch v {
            case .array(let items): resolved.scopes = items.compactMap(\.stringValue)
            case .string(let s): resolved.scopes = s.split(separator: ",").map { String($0).trimmingWhitespace() }
            default: break
            }
        }
        return .key(resolved, "read from \(path)")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}

/// The current working directory.
public func currentDirectory() -> String {
    Sys.currentDirectory() ?? "/"
}
